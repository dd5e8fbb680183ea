#!/usr/bin/env bash
# Installs Debian 12's Docker Engine (20.10) and trixie's buildx plugin, and starts dockerd with a
# runtime that copes with this machine's capability bounding set. Safe to run again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNTIME_NAME=runc-nosysresource
RUNTIME_PATH=/usr/local/lib/buildx-cache-testbed/runc-nosysresource
PLUGIN=/usr/libexec/docker/cli-plugins/docker-buildx
DOCKERD_LOG=$TESTBED_STATE/dockerd.log
DAEMON_JSON=/etc/docker/daemon.json

# Keeps the package's init script from starting a dockerd of its own during the install.
install_packages() {
  local pkgs=(docker.io jq zstd debootstrap busybox-static iptables ca-certificates curl)
  [[ -z $(missing_packages "${pkgs[@]}") ]] && return 0
  local policy=/usr/sbin/policy-rc.d added=''
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1
  fi
  apt_install "${pkgs[@]}"
  [[ -z $added ]] || rm -f "$policy"
}

install_runtime() {
  cmp -s "$TESTBED_DIR/runc-nosysresource" "$RUNTIME_PATH" && return 0
  install -D -m 0755 "$TESTBED_DIR/runc-nosysresource" "$RUNTIME_PATH"
}

install_buildx() {
  [[ -x $PLUGIN ]] && return 0
  local deb tmp
  deb=$(download_deb trixie docker-buildx "$TESTBED_CACHE/debs")
  tmp=$(mktemp -d)
  dpkg-deb -x "$deb" "$tmp"
  install -D -m 0755 "$tmp$PLUGIN" "$PLUGIN"
  rm -rf "$tmp"
}

daemon_answers() { timeout 5 docker info >/dev/null 2>&1; }

wait_for_daemon() {
  local _
  for _ in $(seq 1 120); do
    daemon_answers && return 0
    sleep 0.5
  done
  tail -n 20 "$DOCKERD_LOG" >&2 || true
  die "dockerd did not answer within 60 s (log: $DOCKERD_LOG)"
}

# dockerd refuses to start when a flag repeats a runtime setting of daemon.json: flags only
# when daemon.json has none (else ensure_daemon adds ours to daemon.json).
runtime_flags() {
  jq -e '.runtimes // ."default-runtime"' "$DAEMON_JSON" >/dev/null 2>&1 && return 0
  echo --add-runtime "$RUNTIME_NAME=$RUNTIME_PATH" --default-runtime "$RUNTIME_NAME"
}

start_dockerd() {
  mkdir -p "$TESTBED_STATE"
  log "starting dockerd (log: $DOCKERD_LOG)"
  # shellcheck disable=SC2046 # a list of flags
  setsid nohup dockerd $(runtime_flags) >>"$DOCKERD_LOG" 2>&1 </dev/null &
  echo $! >"$TESTBED_STATE/dockerd.pid"
}

# A dockerd that someone else started: Docker 20.10 reloads runtimes on SIGHUP.
add_runtime_to_running_daemon() {
  local conf=$DAEMON_JSON tmp
  mkdir -p /etc/docker
  [[ -s $conf ]] || echo '{}' >"$conf"
  tmp=$(mktemp)
  jq --arg n "$RUNTIME_NAME" --arg p "$RUNTIME_PATH" \
    '.runtimes[$n] = {path: $p} | ."default-runtime" = $n' "$conf" >"$tmp"
  mv "$tmp" "$conf"
  log "adding runtime $RUNTIME_NAME to the running dockerd via $conf + SIGHUP"
  kill -HUP "$(cat /var/run/docker.pid)"
  local _
  for _ in $(seq 1 20); do
    [[ $(default_runtime) == "$RUNTIME_NAME" ]] && return 0
    sleep 0.5
  done
  die "dockerd did not pick up $conf"
}

default_runtime() { docker info --format '{{.DefaultRuntime}}' 2>/dev/null; }

ensure_daemon() {
  if ! daemon_answers; then
    pgrep -x dockerd >/dev/null || start_dockerd
    wait_for_daemon
  fi
  [[ $(default_runtime) == "$RUNTIME_NAME" ]] || add_runtime_to_running_daemon
}

check_buildx() {
  docker buildx version >/dev/null || die "docker buildx does not answer"
  log "$(docker version --format 'engine {{.Server.Version}}, CLI {{.Client.Version}}'), $(docker buildx version)"
}

need_root
install_packages
install_runtime
install_buildx
ensure_daemon
check_buildx
