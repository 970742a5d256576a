#!/usr/bin/env bash
# Starts the dispatchers, then the workers, of $EXTERNAL_SPARK_CONF_DIR/hosts: hosts that are
# this machine here, the others over ssh.
set -uo pipefail
source "$(dirname "$0")/proxy-config.sh"

status=0
for host in $(hosts_of dispatcher); do
  on_host "$host" start-dispatcher.sh || status=1
done
for host in $(hosts_of worker); do
  on_host "$host" start-worker.sh || status=1
done
exit $status
