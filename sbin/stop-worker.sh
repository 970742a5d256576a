#!/usr/bin/env bash
# Stops the worker on HOST (default: this machine's loopback address) on this machine.
# Usage: stop-worker.sh [HOST] [pacer-proxy options...]
exec "$(dirname "$0")/proxy-daemon.sh" stop worker "${1:-127.0.0.1}" "${@:2}"
