#!/usr/bin/env bash
# Installs what the demo and the tests need when it is missing: Debian packages (as root) and node_modules.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v iptables-restore >/dev/null || need+=(iptables)
command -v ping >/dev/null || need+=(iputils-ping)
command -v unshare >/dev/null || need+=(util-linux)
[ -x /usr/lib/cni/host-local ] || need+=(containernetworking-plugins)
# containerd end-to-end tests: Debian's containerd + runc, and a static C pause program (gcc -static needs libc.a).
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
command -v gcc >/dev/null || need+=(gcc)
[ -e /usr/include/stdio.h ] && compgen -G '/usr/lib/*/libc.a' >/dev/null || need+=(libc6-dev)
# The thin CNI client (dist/kubenet) embeds Duktape, built from Debian's source (scripts/build-client.mjs).
[ -e /usr/share/duktape/duktape.c ] || need+=(duktape-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Other installers may hold the dpkg lock (e.g. parallel jobs on the same machine): wait for it.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing Debian packages: ${need[*]} (run as root, or: apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
# node_modules/bun/bin/bun.exe: the bun devDependency (it compiles dist/kubenet); checkouts installed before it
# was added get it here.
if [ ! -d node_modules/koffi ] || [ ! -d node_modules/tap ] || [ ! -x node_modules/bun/bin/bun.exe ]; then
  echo "installing node modules (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
