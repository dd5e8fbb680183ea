#!/usr/bin/env bash
# Stops the cache service and Azurite started by start.sh. Safe to run when nothing runs.
set -euo pipefail

TESTBED_STATE=${TESTBED_STATE:-/var/lib/buildx-cache-testbed}
RUN_DIR=$TESTBED_STATE/cache-service

stop_pidfile() { # pidfile expected-command-fragment
  local pidfile=$1 pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  # A stale pid file may name a recycled pid: only signal the process we started.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"; then
    kill "$pid"
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

stop_pidfile "$RUN_DIR/server.pid" cache-service/server.mjs
stop_pidfile "$RUN_DIR/azurite.pid" azurite
echo "cache service stopped"
