#!/usr/bin/env bash
# Benchmarks. `npm run bench` runs the native layer's, `npm run bench:native` too; `npm run bench:cni` the
# CNI chain against the Go reference plugins (scripts/bench-cni.ts).
# `bash scripts/bench.sh hostgw`: host-gw routes/s (500 nodes at once) and Node event -> route latency.
# Everything runs inside a throwaway network + mount namespace (unshare), like scripts/test.sh: the benches
# create their own namespaces under a private /run/netns and never touch the machine's network.
#   bash scripts/bench.sh [native] [--runs N] [--ops N]
#   bash scripts/bench.sh bandwidth [--pods N] [--rounds N] [--c 1,8]   (shaped pods: Go bridge+bandwidth vs ours)
#   bash scripts/bench.sh hostport [--pods N] [--rounds N] [--c 1,8] [--modes go,ours,ours-agent,ours-dropin]
#                                  (host ports: Go bridge+portmap vs ours, without and with the agent's CNI service)
#   bash scripts/bench.sh cni [--pods N] [--rounds N] [--c 1,8] [--modes go,ours,ours-agent] [--variant NAME=PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
what=all
case "${1:-}" in native|cni|hostgw|bandwidth|hostport) what=$1; shift ;; esac
if [ "$(id -u)" != 0 ]; then echo "bench.sh: needs root (it creates network namespaces)" >&2; exit 1; fi

# Bundles go under node_modules/ so that the external `koffi` resolves exactly as for dist/. @grpc/grpc-js stays
# external as in every build (scripts/build.mjs): only the CRI client loads it, on its first call; bundled, its
# 900 KB would be parsed at every cold load and bench:native would time a bundle no executable ships.
out=node_modules/.cache/kubenet-bench
mkdir -p "$out"
esbuild=node_modules/.bin/esbuild
common=(--bundle --platform=node --format=cjs --target=node20 --external:koffi --external:@grpc/grpc-js --log-level=warning)
"$esbuild" native/index.ts "${common[@]}" --outfile="$out/native.cjs"
"$esbuild" scripts/bench-native.ts "${common[@]}" --outfile="$out/bench-native.cjs"
unset NODE_EXTRA_CA_CERTS

# The sandbox every bench runs in: a fresh network + private mount namespace with lo up and its own tmpfs over
# /run (the pod namespaces' bind mounts in /run/netns, and whatever an agent makes, e.g. /run/kubenet: nothing
# lands on the machine's /run); `node ARGS...` then runs there.
in_sandbox() {
  exec unshare --net --mount --propagation private -- env KUBENET_BENCH_SANDBOX=1 bash -c '
    mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/netns
    ip link set lo up
    exec node "$@"' bench "$@"
}

# The CNI chain benches' sandbox: a clean environment, tmpfs over all of /run (netns bind mounts, the xtables
# lock, /run/kubenet: nothing reaches the machine's) and over a fresh work dir (leases, the agent's conflist and
# socket), passed to the bench as --work.
cni_sandbox() {
  local bench=$1
  shift
  bash scripts/ensure-deps.sh
  node scripts/build.mjs >/dev/null
  "$esbuild" "scripts/bench-$bench.ts" "${common[@]}" --outfile="$out/bench-$bench.cjs"
  work=$(mktemp -d "/tmp/kubenet-bench-$bench.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  unshare --net --mount --propagation private -- env -i PATH="$PATH" KUBENET_BENCH_SANDBOX=1 bash -c '
    mount -t tmpfs tmpfs /run && mkdir /run/netns
    mount -t tmpfs -o mode=0700 tmpfs "$1"
    ip link set lo up
    shift
    exec node "$@"' bench "$work" "$out/bench-$bench.cjs" --dist dist --work "$work" "$@"
}

case "$what" in
  hostgw)
    # host-gw: routes/s for 500 nodes at once, Node event -> route latency (needs dist/: npm run build).
    "$esbuild" scripts/bench-hostgw.ts "${common[@]}" --outfile="$out/bench-hostgw.cjs"
    in_sandbox "$out/bench-hostgw.cjs" --agent dist/kubenet-agent "$@"
    ;;
  bandwidth|cni|hostport) cni_sandbox "$what" "$@" ;;
  all|native) in_sandbox "$out/bench-native.cjs" --native "$out/native.cjs" "$@" ;;
esac
