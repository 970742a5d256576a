#!/usr/bin/env bash
# Starts the worker on HOST (default: this machine's loopback address) on this machine.
# Usage: start-worker.sh [HOST] [pacer-proxy options...]
exec "$(dirname "$0")/proxy-daemon.sh" start worker "${1:-127.0.0.1}" "${@:2}"
