#!/usr/bin/env bash
# Benchmarks. `npm run bench` runs all of them, `npm run bench:native` only the native layer's.
# Everything runs inside a throwaway network + mount namespace (unshare), like scripts/test.sh: the benches
# create their own namespaces under a private /run/netns and never touch the machine's network.
#   bash scripts/bench.sh [native] [--runs N] [--ops N]
set -euo pipefail
cd "$(dirname "$0")/.."
what=all
if [ "${1:-}" = native ]; then what=native; shift; fi
if [ "$(id -u)" != 0 ]; then echo "bench.sh: needs root (it creates network namespaces)" >&2; exit 1; fi

# Bundles go under node_modules/ so that the external `koffi` resolves exactly as for dist/.
out=node_modules/.cache/kubenet-bench
mkdir -p "$out"
esbuild=node_modules/.bin/esbuild
common=(--bundle --platform=node --format=cjs --target=node20 --external:koffi --log-level=warning)
"$esbuild" native/index.ts "${common[@]}" --outfile="$out/native.cjs"
"$esbuild" scripts/bench-native.ts "${common[@]}" --outfile="$out/bench-native.cjs"
unset NODE_EXTRA_CA_CERTS

case "$what" in
  all|native)
    exec unshare --net --mount --propagation private -- env KUBENET_BENCH_SANDBOX=1 bash -c '
      mount -t tmpfs tmpfs /run/netns 2>/dev/null || { mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns; }
      ip link set lo up
      exec node "$@"' bench "$out/bench-native.cjs" --native "$out/native.cjs" "$@"
    ;;
esac
