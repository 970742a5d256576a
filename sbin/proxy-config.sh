# Sourced by the other sbin/ scripts: the environment Spark-Proxy's scripts document, and how
# to reach a host.
#
#   EXTERNAL_SPARK_HOME           Pacer's folder on every host (default: the folder above sbin/)
#   EXTERNAL_SPARK_CONF_DIR       common.properties and hosts (default: $EXTERNAL_SPARK_HOME/conf)
#   EXTERNAL_SPARK_PID_DIR        pid files and daemon logs (default: $EXTERNAL_SPARK_HOME/tmp)
#   EXTERNAL_SPARK_LOG_MAX_FILES  rotated logs kept per daemon (default: 5)
#
# The daemons are `pacer-proxy` from PATH, else the release build in $EXTERNAL_SPARK_HOME.

EXTERNAL_SPARK_HOME="${EXTERNAL_SPARK_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
EXTERNAL_SPARK_CONF_DIR="${EXTERNAL_SPARK_CONF_DIR:-$EXTERNAL_SPARK_HOME/conf}"
EXTERNAL_SPARK_PID_DIR="${EXTERNAL_SPARK_PID_DIR:-$EXTERNAL_SPARK_HOME/tmp}"
EXTERNAL_SPARK_LOG_MAX_FILES="${EXTERNAL_SPARK_LOG_MAX_FILES:-5}"
export EXTERNAL_SPARK_HOME EXTERNAL_SPARK_CONF_DIR EXTERNAL_SPARK_PID_DIR EXTERNAL_SPARK_LOG_MAX_FILES

if ! [[ "$EXTERNAL_SPARK_LOG_MAX_FILES" =~ ^[1-9][0-9]*$ ]]; then
  echo "EXTERNAL_SPARK_LOG_MAX_FILES must be a positive number, got '$EXTERNAL_SPARK_LOG_MAX_FILES'" >&2
  exit 1
fi

pacer_proxy_binary() {
  if command -v pacer-proxy >/dev/null 2>&1; then
    command -v pacer-proxy
  elif [ -x "$EXTERNAL_SPARK_HOME/target/release/pacer-proxy" ]; then
    echo "$EXTERNAL_SPARK_HOME/target/release/pacer-proxy"
  else
    echo "pacer-proxy not found on PATH nor in $EXTERNAL_SPARK_HOME/target/release (cargo build --release -p pacer-proxy)" >&2
    return 1
  fi
}

# The hosts of one section of $EXTERNAL_SPARK_CONF_DIR/hosts ([dispatcher] or [worker]); without
# a hosts file, this machine.
hosts_of() {
  local section=$1 file="$EXTERNAL_SPARK_CONF_DIR/hosts"
  if [ ! -f "$file" ]; then
    echo 127.0.0.1
    return
  fi
  awk -v want="[$section]" '
    /^[[:space:]]*(#|$)/ { next }
    /^[[:space:]]*\[/ { gsub(/[[:space:]]/, ""); current = $0; next }
    current == want { print $1 }' "$file"
}

# True when `host` names this machine (loopback, its name, or one of its addresses).
is_local() {
  local host=$1
  case "$host" in
    localhost|127.*|::1) return 0 ;;
  esac
  [ "$host" = "$(hostname)" ] || [ "$host" = "$(hostname -f 2>/dev/null)" ] && return 0
  ip -o addr show 2>/dev/null | awk '{split($4, a, "/"); print a[1]}' | grep -qxF "$host"
}

# Runs an sbin script for `host`: here when the host is this machine, else over ssh (the same
# EXTERNAL_SPARK_HOME on every host; keys set up for ssh without a password).
on_host() {
  local host=$1 script=$2
  shift 2
  if is_local "$host"; then
    "$EXTERNAL_SPARK_HOME/sbin/$script" "$host" "$@"
  else
    ssh -o BatchMode=yes -o ConnectTimeout=10 "$host" \
      "EXTERNAL_SPARK_HOME='$EXTERNAL_SPARK_HOME' EXTERNAL_SPARK_CONF_DIR='$EXTERNAL_SPARK_CONF_DIR' \
       EXTERNAL_SPARK_PID_DIR='$EXTERNAL_SPARK_PID_DIR' EXTERNAL_SPARK_LOG_MAX_FILES='$EXTERNAL_SPARK_LOG_MAX_FILES' \
       '$EXTERNAL_SPARK_HOME/sbin/$script' '$host' $*"
  fi
}
