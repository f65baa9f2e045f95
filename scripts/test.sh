#!/usr/bin/env bash
# Runs the whole test suite inside a throwaway network + mount namespace, so that nothing a test does
# (links, addresses, routes, sysctls, iptables rules, /run/netns entries) can reach the machine's own
# network namespace. Kernel tests additionally create their own named namespaces inside this sandbox.
#   bash scripts/test.sh            all tests (needs root: kernel tests create namespaces)
#   bash scripts/test.sh --unit     only the tests that need no privileges
#   bash scripts/test.sh FILE...    only these test files
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
args=()
unit=0
for a in "$@"; do
  if [ "$a" = "--unit" ]; then unit=1
  elif [ -d "$a" ]; then mapfile -t -O "${#args[@]}" args < <(find "$a" -name '*.test.ts' | sort)
  else args+=("$a"); fi
done
if [ ${#args[@]} -eq 0 ]; then
  if [ $unit -eq 1 ]; then
    mapfile -t args < <(find core native plugin agent -name '*.test.ts' | sort)
  else
    mapfile -t args < <(find core native plugin agent test -name '*.test.ts' | sort)
  fi
fi
# Tests run the built plugin executable exactly as a container runtime does.
if [ ! -x dist/kubenet ] || [ "${KUBENET_REBUILD:-1}" = 1 ]; then
  node scripts/build.mjs >/dev/null
fi
# The single executables (dist/sea/, ~5 s) only for kernel runs that include their tests (test/**/*sea*.test.ts).
sea_tests=0
for a in "${args[@]}"; do [[ "$a" =~ (^|/)test/(.*/)?[^/]*sea[^/]*\.test\.ts$ ]] && sea_tests=1; done
if [ $unit -eq 0 ] && [ "$(id -u)" = 0 ] && [ $sea_tests = 1 ] && { [ ! -x dist/sea/kubenet ] || [ "${KUBENET_REBUILD:-1}" = 1 ]; }; then
  # A failed SEA build must not stop the whole suite: it is reported, and the SEA tests fail (not skip).
  node scripts/build-sea.mjs | tail -1 || echo "test.sh: WARNING: npm run build:sea failed (see above)" >&2
  export KUBENET_SEA_REQUIRED=1
fi
unset NODE_EXTRA_CA_CERTS
if [ $unit -eq 1 ] || [ "$(id -u)" != 0 ]; then
  [ "$(id -u)" != 0 ] && echo "test.sh: not root: kernel tests will be skipped" >&2
  exec npx tap "${args[@]}"
fi
# --propagation private: `ip netns add` bind mounts stay inside this mount namespace.
exec unshare --net --mount --propagation private -- env KUBENET_TEST_SANDBOX=1 bash -c '
  # The sandbox'"'"'s own /run first: mount points made below (netns, kubenet) never land on the machine'"'"'s disk.
  mount -t tmpfs -o mode=0755 tmpfs /run
  mkdir -p /run/netns /run/kubenet
  mount -t tmpfs tmpfs /run/netns
  # The CNI service default socket (/run/kubenet/cni.sock) must never be shared by tests running in parallel
  # (an agent in one test namespace would answer every other test'"'"'s plugin calls): read-only and empty here,
  # so an agent started with the default fails to bind and the plugin finds no service. Tests pass their own path.
  mount -t tmpfs -o ro,mode=0700 tmpfs /run/kubenet
  ip link set lo up
  exec npx tap "$@"' tap "${args[@]}"
