#!/usr/bin/env bash
# Makes base images as OCI layouts under ${TESTBED_CACHE}/base/, for builds that cannot pull:
#   busybox  FROM scratch + Debian's static busybox    --build-context busybox=oci-layout://DIR:latest
#   debian   a debootstrapped bookworm (minbase) root  --build-context debian=oci-layout://DIR:bookworm
# Writes ${TESTBED_CACHE}/base/contexts.env with those --build-context values.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BASE=$TESTBED_CACHE/base
BUILDER=buildx-cache-testbed-base
BOOKWORM_ROOT=$TESTBED_CACHE/bookworm-root

layout_done() { [[ -s $BASE/$1/index.json ]]; }

remove_builder() { docker buildx rm "$BUILDER" >/dev/null 2>&1 || true; }

ensure_builder() {
  [[ -n ${builder_ready:-} ]] && return 0
  remove_builder # a leftover of an interrupted run
  docker buildx create --name "$BUILDER" --driver docker-container \
    --driver-opt "image=$BUILDKIT_IMAGE" >/dev/null
  trap remove_builder EXIT
  builder_ready=1
}

# Builds the context dir CTX into an OCI layout at $BASE/NAME whose only tag is TAG.
build_layout() { # name tag ctx
  local name=$1 tag=$2 ctx=$3
  ensure_builder
  rm -rf "$BASE/$name.tmp"
  docker buildx build --builder "$BUILDER" --progress=quiet \
    --output "type=oci,dest=$BASE/$name.tmp,tar=false,name=$name:$tag" "$ctx" >/dev/null
  rm -rf "${BASE:?}/$name"
  mv "$BASE/$name.tmp" "$BASE/$name"
}

# Checks a layout by building FROM it through a named context, the way tests will use it.
check_layout() { # name tag command
  local ctx out
  ctx=$(mktemp -d) out=$(mktemp)
  printf 'FROM %s\nRUN %s\n' "$1" "$3" >"$ctx/Dockerfile"
  docker buildx build --builder "$BUILDER" --progress=plain --no-cache \
    --build-context "$1=oci-layout://$BASE/$1:$2" "$ctx" >"$out" 2>&1 ||
    { cat "$out" >&2; rm -rf "${BASE:?}/$1"; die "FROM $1 via oci-layout://$BASE/$1:$2 failed"; }
  rm -rf "$ctx" "$out"
}

busybox_layout() {
  layout_done busybox && return 0
  log "OCI layout: busybox"
  local ctx path
  ctx=$(mktemp -d)
  install -D -m 0755 /bin/busybox "$ctx/rootfs/bin/busybox"
  for path in $(/bin/busybox --list-full); do
    [[ -e $ctx/rootfs/$path ]] && continue
    mkdir -p "$ctx/rootfs/$(dirname "$path")"
    ln -s /bin/busybox "$ctx/rootfs/$path"
  done
  mkdir -p "$ctx/rootfs/tmp" "$ctx/rootfs/etc" "$ctx/rootfs/root"
  chmod 1777 "$ctx/rootfs/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$ctx/rootfs/etc/passwd"
  echo 'root:x:0:' >"$ctx/rootfs/etc/group"
  printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/sbin:/usr/bin:/sbin:/bin\nCMD ["sh"]\n' >"$ctx/Dockerfile"
  build_layout busybox latest "$ctx"
  rm -rf "$ctx"
  check_layout busybox latest 'echo busybox ok'
}

bookworm_root() {
  [[ -e $BOOKWORM_ROOT/.testbed-debootstrap-done ]] && return 0
  rm -rf "$BOOKWORM_ROOT"
  log "debootstrap bookworm (minbase) into $BOOKWORM_ROOT"
  debootstrap --variant=minbase bookworm "$BOOKWORM_ROOT" "$(debian_mirror)" \
    >"$TESTBED_CACHE/debootstrap-bookworm.log" 2>&1 ||
    die "debootstrap failed; see $TESTBED_CACHE/debootstrap-bookworm.log"
  touch "$BOOKWORM_ROOT/.testbed-debootstrap-done"
}

# ADD of a tar keeps owners and modes; device nodes and caches stay out.
debian_layout() {
  layout_done debian && return 0
  bookworm_root
  log "OCI layout: debian (bookworm)"
  local ctx
  ctx=$(mktemp -d)
  tar -C "$BOOKWORM_ROOT" -cf "$ctx/rootfs.tar" --numeric-owner --exclude=./.testbed-debootstrap-done \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./var/cache/apt/archives/*.deb' \
    --exclude='./var/lib/apt/lists/*' .
  printf 'FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n' >"$ctx/Dockerfile"
  build_layout debian bookworm "$ctx"
  rm -rf "$ctx"
  check_layout debian bookworm 'cat /etc/debian_version'
}

write_contexts_env() {
  cat >"$BASE/contexts.env.tmp" <<ENV
BUSYBOX_CONTEXT=oci-layout://$BASE/busybox:latest
DEBIAN_CONTEXT=oci-layout://$BASE/debian:bookworm
ENV
  mv "$BASE/contexts.env.tmp" "$BASE/contexts.env"
}

need_root
image_present "$BUILDKIT_IMAGE" || die "$BUILDKIT_IMAGE is missing: run buildkit-image.sh first"
mkdir -p "$BASE"
busybox_layout
debian_layout
write_contexts_env
