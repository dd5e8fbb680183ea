#!/bin/bash
# Runs inside the trixie root: builds buildkitd and buildctl from Debian's Go sources in GOPATH
# mode, with the overlay filling what Debian lacks (see README.md). Output: /opt/testbed/out/.
set -euo pipefail

overlay=/opt/testbed/go-overlay
gocode=/usr/share/gocode/src
cmd=$overlay/src/github.com/moby/buildkit/cmd/buildkitd

# go-actions-cache and the new Azure SDK are not packaged: drop the gha and azblob backends.
cmd_without_gha_azblob() {
  mkdir -p "$cmd"
  cp "$gocode"/github.com/moby/buildkit/cmd/buildkitd/*.go "$cmd/"
  sed -i -e '\#moby/buildkit/cache/remotecache/\(gha\|azblob\)"#d' \
    -e '/"\(gha\|azblob\)": *\(gha\|azblob\)\./d' "$cmd/main.go"
  if grep -qE '\b(gha|azblob)\.' "$cmd/main.go"; then
    echo "main.go still uses gha/azblob: the sed patterns no longer match this BuildKit" >&2
    exit 1
  fi
}

# Debian packages go-systemd without its /v22 module path.
go_systemd_v22() {
  mkdir -p "$overlay/src/github.com/coreos/go-systemd"
  ln -sfn "$gocode/github.com/coreos/go-systemd" "$overlay/src/github.com/coreos/go-systemd/v22"
}

build() {
  local version
  version=$(dpkg-query -W -f '${Version}' golang-github-docker-docker-dev)
  mkdir -p /opt/testbed/out
  # Debian's packages come first; the fallback substitutes only fill what is not installed.
  GO111MODULE=off CGO_ENABLED=0 GOPATH="$overlay:/usr/share/gocode:$overlay/fallback" \
    /usr/lib/go-1.24/bin/go build -trimpath -o /opt/testbed/out/ \
    -ldflags "-s -w -X github.com/moby/buildkit/version.Version=v0.13.2+debian \
      -X github.com/moby/buildkit/version.Revision=docker.io-$version" \
    github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl
}

cmd_without_gha_azblob
go_systemd_v22
build
