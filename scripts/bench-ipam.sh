#!/usr/bin/env bash
# Many pods at once: ours vs the Go reference (scripts/bench-ipam.mjs), inside a throwaway network + mount
# namespace like scripts/test.sh; never touches the machine's network. Needs root and a built dist/.
#   bash scripts/bench-ipam.sh [--pods 200] [--concurrency 32] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "bench-ipam.sh: needs root (it creates network namespaces)" >&2; exit 1; fi
[ -x dist/kubenet ] || node scripts/build.mjs >/dev/null
[ -x /usr/lib/cni/bridge ] || { echo "bench-ipam.sh: /usr/lib/cni/bridge missing (apt-get install containernetworking-plugins)" >&2; exit 1; }
unset NODE_EXTRA_CA_CERTS
exec unshare --net --mount --propagation private -- env KUBENET_BENCH_SANDBOX=1 bash -c '
  mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/netns
  mount -t tmpfs tmpfs /var/lib/cni 2>/dev/null || true
  ip link set lo up
  exec node scripts/bench-ipam.mjs "$@"' bench "$@"
