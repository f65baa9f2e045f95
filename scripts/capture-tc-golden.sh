#!/usr/bin/env bash
# Captures the netlink requests iproute2's `tc` sends for the commands the tc codec mirrors, into
# native/tc/testdata/tc-requests.txt (the golden bytes of native/tc/requests.test.ts). Developer tool: needs
# root, strace and tc; runs everything inside a throwaway network namespace. Sequence numbers are zeroed
# (the socket stamps its own). Devices: lo=1, v1=2, v0=3 (veth), ifb0=4.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/native/tc/testdata/tc-requests.txt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/run.sh" <<'INNER'
set -eu
ip link add v0 type veth peer name v1
ip link add ifb0 type ifb
ip link set v0 up; ip link set v1 up; ip link set ifb0 up
cap() { # name, command...
  local name=$1; shift
  strace -qq -e trace=sendmsg -e write=3 -o "$name.strace" "$@" >/dev/null
  printf '%s\t%s\t' "$name" "$*"
  grep '^ | ' "$name.strace" | cut -c 11-59 | tr -d ' \n' | sed -E 's/^(.{16}).{8}/\100000000/'
  echo
}
cap tbf-10mbit tc qdisc add dev v0 root handle 1: tbf rate 1250000bps burst 125000b limit 156250b
cap qdisc-del-root tc qdisc del dev v0 root
cap tbf-50mbit tc qdisc add dev v0 root handle 1: tbf rate 6250000bps burst 2500000b limit 2656250b
cap ingress tc qdisc add dev v0 handle ffff: ingress
cap u32-mirred tc filter add dev v0 parent ffff: protocol all prio 1 u32 match u32 0 0 flowid 1:1 action mirred egress redirect dev ifb0
cap filter-del tc filter del dev v0 parent ffff: prio 1 protocol all
cap qdisc-del-ingress tc qdisc del dev v0 ingress
cap tbf-40gbit tc qdisc add dev ifb0 root handle 1: tbf rate 5000000000bps burst 100000000b limit 225000000b
cap qdisc-list tc qdisc show dev ifb0
cap filter-list tc filter show dev v0 parent ffff:
INNER
(cd "$work" && unshare --net bash "$work/run.sh") > "$out"
echo "wrote $out ($(wc -l < "$out") requests)"
