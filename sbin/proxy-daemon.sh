#!/usr/bin/env bash
# Starts or stops one pacer-proxy daemon on this machine, with a pid file and a rotated log in
# $EXTERNAL_SPARK_PID_DIR (external-spark-$USER-<role>-<host>.pid / .log).
# Usage: proxy-daemon.sh (start|stop) (dispatcher|worker) HOST [pacer-proxy options...]
set -euo pipefail
source "$(dirname "$0")/proxy-config.sh"

usage="Usage: proxy-daemon.sh (start|stop) (dispatcher|worker) HOST [options...]"
[ $# -ge 3 ] || { echo "$usage" >&2; exit 1; }
action=$1 role=$2 host=$3
shift 3
case "$role" in dispatcher|worker) ;; *) echo "$usage" >&2; exit 1 ;; esac

name="external-spark-${USER:-$(id -un)}-$role-$host"
pid_file="$EXTERNAL_SPARK_PID_DIR/$name.pid"
log="$EXTERNAL_SPARK_PID_DIR/$name.log"

running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q pacer-proxy \
    && echo "$pid"
}

rotate_log() {
  [ -f "$log" ] || return 0
  local n=$EXTERNAL_SPARK_LOG_MAX_FILES
  while [ "$n" -gt 1 ]; do
    local previous=$((n - 1))
    [ -f "$log.$previous" ] && mv "$log.$previous" "$log.$n"
    n=$previous
  done
  mv "$log" "$log.1"
}

case "$action" in
  start)
    mkdir -p "$EXTERNAL_SPARK_PID_DIR"
    if pid=$(running_pid); then
      echo "$role on $host running as process $pid. Stop it first."
      exit 1
    fi
    binary=$(pacer_proxy_binary)
    rotate_log
    echo "starting $role on $host, logging to $log"
    nohup "$binary" --conf-dir "$EXTERNAL_SPARK_CONF_DIR" "$role" --host "$host" "$@" >> "$log" 2>&1 < /dev/null &
    echo $! > "$pid_file"
    # A daemon that cannot start (bad configuration, port taken) exits at once.
    sleep 1
    if ! running_pid > /dev/null; then
      rm -f "$pid_file"
      echo "$role on $host failed to start; last lines of $log:" >&2
      tail -n 5 "$log" >&2
      exit 1
    fi
    ;;
  stop)
    if pid=$(running_pid); then
      echo "stopping $role on $host (process $pid)"
      kill "$pid"
      for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    else
      echo "no $role to stop on $host"
    fi
    rm -f "$pid_file"
    ;;
  *)
    echo "$usage" >&2
    exit 1
    ;;
esac
