#!/usr/bin/env bash
# Prepares this machine for the integration tests: Docker + buildx, the local BuildKit image, and
# base images as OCI layouts; then proves that a local BuildKit cache written by one builder is
# used by a fresh one. Safe to run again; fast when everything is in place.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMOKE_BUILDERS=(buildx-cache-testbed-smoke-1 buildx-cache-testbed-smoke-2)

step() { # script
  local t0
  t0=$(now)
  bash "$TESTBED_DIR/$1" || die "$1 failed"
  printf '[setup] %-18s %6ss\n' "$1" "$(elapsed "$t0")" >&2
}

remove_smoke() {
  local b
  for b in "${SMOKE_BUILDERS[@]}"; do docker buildx rm "$b" >/dev/null 2>&1 || true; done
  [[ -z ${smoke_dir:-} ]] || rm -rf "$smoke_dir"
}

write_smoke_context() { # dir
  cat >"$1/Dockerfile" <<'DOCKERFILE'
FROM busybox AS first
RUN echo one >/one
FROM busybox AS second
COPY --from=first /one /one
RUN cat /one >/two && echo two >>/two
DOCKERFILE
}

# Builds the smoke context on a brand-new builder; the rawjson progress goes to PROGRESS.
smoke_build() { # builder progress-file cache-args...
  local builder=$1 progress=$2
  shift 2
  docker buildx create --name "$builder" --driver docker-container \
    --driver-opt "image=$BUILDKIT_IMAGE" >/dev/null
  docker buildx inspect --bootstrap "$builder" >"$progress" 2>&1 ||
    { cat "$progress" >&2; die "builder $builder did not boot"; }
  # shellcheck disable=SC1091 # written by base-images.sh
  source "$TESTBED_CACHE/base/contexts.env"
  docker buildx build --builder "$builder" --progress=rawjson \
    --build-context "busybox=$BUSYBOX_CONTEXT" "$@" "$smoke_dir/ctx" 2>"$progress" ||
    { tail -n 20 "$progress" >&2; die "smoke build on $builder failed"; }
}

# Prints "cached total" for the RUN steps seen in a rawjson progress stream: indented JSON
# objects, with a few plain log lines of buildx's mixed in.
run_steps_cached() { # progress-file
  grep -E '^([{}]|[[:space:]])' "$1" | jq -rs '[.[].vertexes[]? | select(.name | test("\\] RUN "))] | group_by(.digest)
    | map(any(.[]; .cached == true)) | "\(map(select(.)) | length) \(length)"'
}

smoke_test() {
  local t0 cached total
  t0=$(now)
  remove_smoke
  trap remove_smoke EXIT
  smoke_dir=$(mktemp -d)
  mkdir "$smoke_dir/ctx"
  write_smoke_context "$smoke_dir/ctx"
  smoke_build "${SMOKE_BUILDERS[0]}" "$smoke_dir/cold.json" \
    --cache-to "type=local,dest=$smoke_dir/cache,mode=max"
  smoke_build "${SMOKE_BUILDERS[1]}" "$smoke_dir/warm.json" \
    --cache-from "type=local,src=$smoke_dir/cache"
  read -r cached total < <(run_steps_cached "$smoke_dir/warm.json")
  ((total == 2 && cached == total)) ||
    die "smoke test: a fresh builder took $cached of $total RUN steps from the local cache (want 2 of 2)"
  remove_smoke
  trap - EXIT
  printf '[setup] %-18s %6ss (fresh builder: %s of %s RUN steps CACHED)\n' \
    smoke-test "$(elapsed "$t0")" "$cached" "$total" >&2
}

need_root
t_all=$(now)
step docker.sh
step buildkit-image.sh
step base-images.sh
smoke_test
printf '[setup] %-18s %6ss\n' total "$(elapsed "$t_all")" >&2
