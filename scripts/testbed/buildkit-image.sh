#!/usr/bin/env bash
# Makes the local BuildKit image the docker-container builder uses (moby/buildkit:buildx-stable-1),
# built from Debian trixie's Go sources in a debootstrapped root, as no image registry is reachable.
# The image is saved to ${TESTBED_CACHE}/buildkit-image.tar so later runs only load it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOCAL_TAG=buildx-cache-testbed/buildkit:local
TARBALL=$TESTBED_CACHE/buildkit-image.tar
RECIPE_LABEL=buildx-cache-testbed.recipe
ROOT=$TESTBED_CACHE/trixie-root
GO_PACKAGES=(golang-1.24-go golang-github-docker-docker-dev runc ca-certificates
  golang-github-agext-levenshtein-dev golang-github-aws-aws-sdk-go-v2-dev
  golang-github-azure-azure-sdk-for-go-dev golang-github-coreos-go-systemd-dev
  golang-github-gofrs-flock-dev golang-github-google-shlex-dev
  golang-github-mitchellh-hashstructure-v2-dev golang-github-pkg-profile-dev
  golang-github-spdx-tools-golang-dev golang-github-containerd-stargz-snapshotter-dev
  golang-github-containerd-nydus-snapshotter-dev golang-github-tonistiigi-vt100-dev)
# Dependency-free Go sources only in sid; go-overlay/fallback has substitutes if sid is out of reach.
SID_PACKAGES=(golang-github-tonistiigi-go-archvariant-dev golang-github-package-url-packageurl-go-dev)

mounts_under_root() { awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r; }

unmount_root() {
  local m
  for m in $(mounts_under_root); do umount -l "$m"; done
}

mount_root() {
  mount -t proc proc "$ROOT/proc"
  mount --bind /sys "$ROOT/sys"
  mount --bind /dev "$ROOT/dev"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
}

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  DEBIAN_FRONTEND=noninteractive "$@"; }

debootstrap_root() {
  [[ -e $ROOT/.testbed-debootstrap-done ]] && return 0
  unmount_root
  [[ -z $(mounts_under_root) ]] || die "something is still mounted under $ROOT"
  rm -rf "$ROOT"
  log "debootstrap trixie (minbase) into $ROOT"
  debootstrap --variant=minbase trixie "$ROOT" "$(debian_mirror)" >"$TESTBED_CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $TESTBED_CACHE/debootstrap.log"
  # A throwaway root: dpkg need not fsync every file it unpacks (the Go sources are ~100k files).
  echo force-unsafe-io >"$ROOT/etc/dpkg/dpkg.cfg.d/testbed-unsafe-io"
  touch "$ROOT/.testbed-debootstrap-done"
}

install_go_sources() {
  local marker=$ROOT/.testbed-packages-done
  [[ -e $marker && $(cat "$marker") == "${GO_PACKAGES[*]}" ]] && return 0
  log "apt-get install Go and BuildKit's sources in the trixie root"
  { in_root apt-get update -qq && in_root apt-get install -y -qq --no-install-recommends \
    "${GO_PACKAGES[@]}"; } >"$TESTBED_CACHE/trixie-apt.log" 2>&1 ||
    die "apt-get in the trixie root failed; see $TESTBED_CACHE/trixie-apt.log"
  echo "${GO_PACKAGES[*]}" >"$marker"
}

install_sid_sources() {
  local p deb
  for p in "${SID_PACKAGES[@]}"; do
    # shellcheck disable=SC2016 # a dpkg-query format
    [[ $(in_root dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null) == installed ]] && continue
    if deb=$(download_deb sid "$p" "$TESTBED_CACHE/debs" 2>/dev/null); then
      cp "$deb" "$ROOT/tmp/" && in_root dpkg -i "/tmp/$(basename "$deb")" >/dev/null
    else
      log "sid's $p could not be had: using the substitute in go-overlay/fallback"
    fi
  done
}

compile_buildkit() {
  log "go build buildkitd + buildctl (GOPATH mode)"
  rm -rf "$ROOT/opt/testbed"
  mkdir -p "$ROOT/opt/testbed"
  cp -a "$TESTBED_DIR/go-overlay" "$TESTBED_DIR/buildkit-compile.sh" "$ROOT/opt/testbed/"
  in_root /bin/bash /opt/testbed/buildkit-compile.sh
}

# runc comes from the root with the shared libraries it links; busybox gives buildx a /bin/sh.
assemble_image_dir() { # dir
  local dir=$1 lib applet
  mkdir -p "$dir/usr/bin" "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/var/lib/buildkit"
  chmod 1777 "$dir/tmp"
  cp "$ROOT/opt/testbed/out/buildkitd" "$ROOT/opt/testbed/out/buildctl" "$dir/usr/bin/"
  cp "$ROOT/usr/sbin/runc" "$dir/usr/bin/runc"
  cp "$ROOT/usr/sbin/runc" "$dir/usr/bin/buildkit-runc"
  for lib in $(in_root ldd /usr/sbin/runc | grep -o '/[^ ]*'); do
    mkdir -p "$dir$(dirname "$lib")"
    cp -L "$ROOT$lib" "$dir$lib"
  done
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ -e $dir/bin/$applet ]] || ln -s busybox "$dir/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
}

import_image() { # recipe
  local dir
  dir=$(mktemp -d "$TESTBED_CACHE/image.XXXXXX")
  assemble_image_dir "$dir"
  tar -C "$dir" -c . | docker import --change 'ENTRYPOINT ["buildkitd"]' \
    --change 'ENV PATH=/usr/bin:/bin' --change "LABEL $RECIPE_LABEL=$1" - "$BUILDKIT_IMAGE" >/dev/null
  rm -rf "$dir"
  docker tag "$BUILDKIT_IMAGE" "$LOCAL_TAG"
  docker save "$BUILDKIT_IMAGE" "$LOCAL_TAG" -o "$TARBALL.tmp"
  mv "$TARBALL.tmp" "$TARBALL"
}

build_image() { # recipe
  debootstrap_root
  trap unmount_root EXIT
  mount_root
  install_go_sources
  install_sid_sources
  compile_buildkit
  import_image "$1"
  unmount_root
  trap - EXIT
}

# Changing how the image is made (this script, the compile script, the overlay) makes a new one.
recipe_hash() {
  (cd "$TESTBED_DIR" && find buildkit-image.sh buildkit-compile.sh go-overlay -type f -print0 |
    sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

image_recipe() { # image-or-tarball-loaded
  docker image inspect -f "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$1" 2>/dev/null || true
}

ensure_image() {
  local recipe
  recipe=$(recipe_hash)
  [[ $(image_recipe "$BUILDKIT_IMAGE") == "$recipe" ]] && return 0
  if [[ -s $TARBALL ]]; then
    log "docker load $TARBALL"
    docker load -q -i "$TARBALL" >/dev/null
    [[ $(image_recipe "$BUILDKIT_IMAGE") == "$recipe" ]] && return 0
  fi
  build_image "$recipe"
}

need_root
mkdir -p "$TESTBED_CACHE"
ensure_image
image_present "$LOCAL_TAG" || docker tag "$BUILDKIT_IMAGE" "$LOCAL_TAG"
log "$(docker run --rm --entrypoint buildkitd "$BUILDKIT_IMAGE" --version 2>/dev/null)"
