#!/usr/bin/env bash
# Starts the dispatcher on HOST (default: this machine's loopback address) on this machine.
# Usage: start-dispatcher.sh [HOST] [pacer-proxy options...]
exec "$(dirname "$0")/proxy-daemon.sh" start dispatcher "${1:-127.0.0.1}" "${@:2}"
