#!/usr/bin/env bash
# Pod sandbox latency through containerd, ours vs the Go reference chain (scripts/bench-containerd.ts).
# Runs inside a throwaway network + mount namespace like scripts/test.sh (containerd gets its own inside).
#   bash scripts/bench-containerd.sh [--pods N]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "bench-containerd.sh: needs root (namespaces, containerd)" >&2; exit 1; fi
bash scripts/ensure-deps.sh
node scripts/build.mjs >/dev/null
unset NODE_EXTRA_CA_CERTS
loader="$PWD/node_modules/@tapjs/typescript/dist/esm/import.mjs"
exec unshare --net --mount --propagation private -- env KUBENET_TEST_SANDBOX=1 bash -c '
  mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/netns
  ip link set lo up
  exec node --import="file://$0" scripts/bench-containerd.ts "$@"' "$loader" "$@"
