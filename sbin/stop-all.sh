#!/usr/bin/env bash
# Stops the workers (and with them their executors), then the dispatchers, of
# $EXTERNAL_SPARK_CONF_DIR/hosts.
set -uo pipefail
source "$(dirname "$0")/proxy-config.sh"

status=0
for host in $(hosts_of worker); do
  on_host "$host" stop-worker.sh || status=1
done
for host in $(hosts_of dispatcher); do
  on_host "$host" stop-dispatcher.sh || status=1
done
exit $status
