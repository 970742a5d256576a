#!/usr/bin/env bash
# Stops the dispatcher on HOST (default: this machine's loopback address) on this machine.
# Usage: stop-dispatcher.sh [HOST] [pacer-proxy options...]
exec "$(dirname "$0")/proxy-daemon.sh" stop dispatcher "${1:-127.0.0.1}" "${@:2}"
