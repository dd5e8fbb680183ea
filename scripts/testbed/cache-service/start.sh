#!/usr/bin/env bash
# Starts Azurite (blob only) and the cache service in the background, waits until both answer and
# writes ${TESTBED_STATE}/cache-service.env. Safe to run again: running processes are kept.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)

export TESTBED_STATE=${TESTBED_STATE:-/var/lib/buildx-cache-testbed}
export AZURITE_BLOB_PORT=${AZURITE_BLOB_PORT:-10000}
export CACHE_SERVICE_PORT=${CACHE_SERVICE_PORT:-8788}
export CACHE_SERVICE_BLOB_HOST=${CACHE_SERVICE_BLOB_HOST:-127.0.0.1}
CACHE_WRITE_SCOPE=${CACHE_WRITE_SCOPE-refs/heads/main}
CACHE_READ_SCOPES=${CACHE_READ_SCOPES:-} # space separated, searched after the write scope

RUN_DIR=$TESTBED_STATE/cache-service
ENV_FILE=$TESTBED_STATE/cache-service.env
mkdir -p "$RUN_DIR" "$TESTBED_STATE/azurite"

is_running() { # pidfile
  [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

answers() { # url: any HTTP status counts, 000 means nothing listens
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1") != 000 ]]
}

wait_until() { # description command...
  local what=$1
  shift
  for _ in $(seq 1 120); do
    "$@" && return 0
    sleep 0.25
  done
  echo "start.sh: $what did not come up; see $RUN_DIR/*.log" >&2
  exit 1
}

# Production-style blob URLs need the account host name to reach Azurite (see README).
map_blob_host() {
  [[ $CACHE_SERVICE_BLOB_HOST =~ ^[0-9.]+$ || $CACHE_SERVICE_BLOB_HOST == localhost ]] && return 0
  getent hosts "$CACHE_SERVICE_BLOB_HOST" >/dev/null && return 0
  if [[ -w /etc/hosts ]]; then
    echo "127.0.0.1 $CACHE_SERVICE_BLOB_HOST" >>/etc/hosts
  else
    echo "start.sh: $CACHE_SERVICE_BLOB_HOST does not resolve; map it to 127.0.0.1 in /etc/hosts" >&2
    exit 1
  fi
}

start_azurite() {
  is_running "$RUN_DIR/azurite.pid" && return 0
  setsid nohup "$ROOT/node_modules/.bin/azurite-blob" \
    --blobHost 127.0.0.1 --blobPort "$AZURITE_BLOB_PORT" \
    --location "$TESTBED_STATE/azurite" --skipApiVersionCheck --disableTelemetry --silent \
    >>"$RUN_DIR/azurite.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/azurite.pid"
}

start_server() {
  is_running "$RUN_DIR/server.pid" && return 0
  setsid nohup node "$HERE/server.mjs" >>"$RUN_DIR/server.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/server.pid"
}

write_env_file() {
  local token
  # shellcheck disable=SC2086 # CACHE_READ_SCOPES is a list
  token=$(node "$HERE/token.mjs" "$CACHE_WRITE_SCOPE" $CACHE_READ_SCOPES)
  {
    echo "export ACTIONS_CACHE_SERVICE_V2=true"
    echo "export ACTIONS_RESULTS_URL=http://127.0.0.1:$CACHE_SERVICE_PORT/"
    echo "export ACTIONS_RUNTIME_TOKEN=$token"
    echo "export GITHUB_SERVER_URL=https://github.com" # anything else counts as GHES: v1 only
    [[ $CACHE_WRITE_SCOPE == refs/* ]] && echo "export GITHUB_REF=$CACHE_WRITE_SCOPE"
    echo "export CACHE_SERVICE_ADMIN_URL=http://127.0.0.1:$CACHE_SERVICE_PORT/_testbed"
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

map_blob_host
start_azurite
wait_until "Azurite on :$AZURITE_BLOB_PORT" answers "http://127.0.0.1:$AZURITE_BLOB_PORT/devstoreaccount1?comp=list"
start_server
wait_until "cache service on :$CACHE_SERVICE_PORT" curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$CACHE_SERVICE_PORT/_testbed/health"
write_env_file
echo "cache service up: http://127.0.0.1:$CACHE_SERVICE_PORT/ (Azurite :$AZURITE_BLOB_PORT); env in $ENV_FILE"
