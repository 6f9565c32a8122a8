#!/usr/bin/env bash
# Starts a Docker engine where Debian's docker.io is installed and none is running, the way this
# machine allows it (as root, vfs storage: no overlay on overlay here), and stops only the one it
# started.
#   hack/kind/dockerd.sh start   exit 0 when an engine answers (started or already there)
#   hack/kind/dockerd.sh stop    stops the engine this script started, if any
set -euo pipefail
PIDFILE="${GLOBALSVC_CACHE:-$HOME/.cache/globalsvc}/dockerd.pid"
LOG="${GLOBALSVC_CACHE:-$HOME/.cache/globalsvc}/dockerd.log"

case "${1:-}" in
  start)
    if docker info >/dev/null 2>&1; then exit 0; fi
    command -v dockerd >/dev/null || { echo "no dockerd: apt-get install docker.io" >&2; exit 1; }
    [ "$(id -u)" = 0 ] || { echo "dockerd must be started as root here" >&2; exit 1; }
    mkdir -p "$(dirname "$PIDFILE")"
    setsid dockerd --storage-driver=vfs --data-root=/var/lib/docker >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 60); do
      if docker info >/dev/null 2>&1; then exit 0; fi
      sleep 0.5
    done
    echo "dockerd did not answer within 30 s; its log: $LOG" >&2
    tail -20 "$LOG" >&2
    exit 1
    ;;
  stop)
    [ -f "$PIDFILE" ] || exit 0
    pid="$(cat "$PIDFILE")"
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$PIDFILE"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
