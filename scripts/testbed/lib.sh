# Shared helpers for the testbed scripts; sourced, not run.
# shellcheck shell=bash disable=SC2034 # TESTBED_DIR and BUILDKIT_IMAGE are for the sourcing scripts

export DEBIAN_FRONTEND=noninteractive
export TESTBED_CACHE=${TESTBED_CACHE:-/var/cache/buildx-cache-testbed}
export TESTBED_STATE=${TESTBED_STATE:-/var/lib/buildx-cache-testbed}
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILDKIT_IMAGE=moby/buildkit:buildx-stable-1

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

need_root() { [[ $(id -u) == 0 ]] || die "run as root"; }

missing_packages() { # pkg...
  local p
  for p in "$@"; do
    dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

apt_install() { # pkg...: installs only what is missing, so a prepared machine never touches apt
  local missing
  mapfile -t missing < <(missing_packages "$@")
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The host's own mirror; no host name is written into our files.
debian_mirror() {
  awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources
}

# The host's first sources stanza with Suites: rewritten, for a private apt or a chroot.
sources_for_suite() { # suite
  awk -v suite="$1" '/^$/ { exit } /^Suites:/ { print "Suites: " suite; next } { print }' \
    /etc/apt/sources.list.d/debian.sources
}

# A private apt state for another suite, so the host's apt never sees it (its libc stays put).
suite_apt() { # suite apt-get|apt-cache args...
  local suite=$1 tool=$2 dir=$TESTBED_CACHE/apt-$1
  shift 2
  mkdir -p "$dir/sources.list.d" "$dir/lists/partial" "$dir/cache/archives/partial"
  sources_for_suite "$suite" >"$dir/sources.list.d/debian.sources"
  "$tool" -q -o APT::Sandbox::User=root -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$dir/sources.list.d" \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" "$@"
}

# Downloads SUITE's .deb of PKG into DIR (kept there as a cache); prints its path.
download_deb() { # suite pkg dir
  local deb
  mkdir -p "$3"
  deb=$(compgen -G "$3/$2_*.deb" | head -n1 || true)
  if [[ -z $deb ]]; then
    suite_apt "$1" apt-get update -qq >&2
    (cd "$3" && suite_apt "$1" apt-get download -qq "$2" >&2)
    deb=$(compgen -G "$3/$2_*.deb" | head -n1) || die "could not download $2 from $1"
  fi
  echo "$deb"
}

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

# Seconds since the epoch with a fraction, for step timings.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
