#!/usr/bin/env bash
# The demo: kubenet's datapath on one simulated node, built by our agent and our CNI plugin, on an embedded
# default (PodCIDR 172.20.1.0/24 of the cluster CIDR 172.20.0.0/16). Everything happens inside a throwaway
# network + mount namespace made here (and named namespaces inside it), so the machine's own network is
# never touched; all of it disappears when the script ends.
#
#   node     the node's network namespace: the agent and the plugin run here; cbr0 is created here
#   pod-a    a pod (CNI_NETNS), wired by `kubenet ADD`
#   pod-b    a second pod
#   outside  a host outside the cluster (203.0.113.1), the node's default gateway
#   node2    a second node (host-gw part): LAN 10.0.1.0/24 with node, PodCIDR 172.20.2.0/24; pod-c on it
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

if [ "${KUBENET_DEMO_SANDBOX:-}" != 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "demo: run as root (it creates network namespaces)" >&2; exit 1; fi
  bash scripts/ensure-deps.sh
  node scripts/build.mjs >/dev/null
  unset NODE_EXTRA_CA_CERTS
  exec unshare --net --mount --propagation private -- env KUBENET_DEMO_SANDBOX=1 bash "$0" "$@"
fi

POD_CIDR=${POD_CIDR:-172.20.1.0/24}
CLUSTER_CIDR=${CLUSTER_CIDR:-172.20.0.0/16}
# The sandbox's own /run: netns mounts, and the plugin finds no agent socket of the machine's.
mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/netns
WORK=$(mktemp -d /tmp/kubenet-demo.XXXXXX)
trap 'for n in node pod-a pod-b outside node2 pod-c; do ip netns del $n 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/net.d" "$WORK/networks"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() { local ns=$1; shift; nsenter --net=/run/netns/$ns -- "$@"; }

step "namespaces: node, pod-a, pod-b, outside (203.0.113.0/24 uplink between node and outside)"
for n in node pod-a pod-b outside; do ip netns add $n; in_ns $n ip link set lo up; done
ip link add up0 netns node type veth peer name eth0 netns outside
in_ns node ip addr add 203.0.113.10/24 dev up0
in_ns node ip link set up0 up
in_ns node ip route add default via 203.0.113.1
in_ns outside ip addr add 203.0.113.1/24 dev eth0
in_ns outside ip link set eth0 up
# The outside host has no route to the pod network: replies reach pods only if the node masquerades.

step "agent: one sync with a static PodCIDR (conflist, sysctls, masquerade chain)"
in_ns node "$REPO/dist/kubenet-agent" run --once --static-pod-cidr "$POD_CIDR" --cluster-cidr "$CLUSTER_CIDR" \
  --cni-conf-dir "$WORK/net.d" --ipam-data-dir "$WORK/networks" --masq-config "" --listen off --log-level warn \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(JSON.stringify(r,null,1).split("\n").slice(0,40).join("\n"))})'
CONF=$(ls "$WORK"/net.d/*.conflist | head -1)
echo "--- $CONF"; cat "$CONF"; echo
echo "--- sysctls in node: ip_forward=$(in_ns node cat /proc/sys/net/ipv4/ip_forward)" \
  "bridge-nf-call-iptables=$(in_ns node cat /proc/sys/net/bridge/bridge-nf-call-iptables)"
echo "--- iptables -t nat (node)"; in_ns node iptables-save -t nat | grep -v '^#'

# What a runtime does with a conflist: each plugin gets its object plus the list's name and cniVersion.
PLUGIN_CONF=$(node -e 'const l=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  console.log(JSON.stringify({cniVersion:l.cniVersion,name:l.name,...l.plugins[0]}))' "$CONF")
cni() { # cni COMMAND CONTAINER-ID NETNS [PREV-RESULT]
  local conf=$PLUGIN_CONF
  # DEL and CHECK get the cached ADD result as prevResult, as libcni does.
  [ -n "${4:-}" ] && conf=$(node -e 'const c=JSON.parse(process.argv[1]);c.prevResult=JSON.parse(process.argv[2]);console.log(JSON.stringify(c))' "$conf" "$4")
  in_ns node env -i PATH="$PATH" CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=eth0 \
    CNI_PATH="$REPO/dist" "$REPO/dist/kubenet" <<<"$conf"
}

step "plugin: ADD pod-a and pod-b (as containerd runs /opt/cni/bin/kubenet)"
RESULT_A=$(cni ADD demo-pod-a /run/netns/pod-a); echo "$RESULT_A"
cni ADD demo-pod-b /run/netns/pod-b; echo
A=$(in_ns pod-a ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
B=$(in_ns pod-b ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
GW=$(in_ns pod-a ip -4 route show default | awk '{print $3}')
echo "--- pod-a eth0 $A, pod-b eth0 $B, gateway $GW"
in_ns pod-a ip route
echo "--- node: bridge and ports"; in_ns node ip -br link show master cbr0; in_ns node ip -br addr show dev cbr0
echo "--- $WORK/networks/kubenet (host-local's format: one file per leased IP holding \"containerID\\r\\nifname\"):"
for f in "$WORK"/networks/kubenet/*; do printf '  %s: %s\n' "$(basename "$f")" "$(tr '\r\n' '  ' <"$f")"; done

step "traffic"
in_ns pod-a ping -c1 -W2 "$B" | grep -E 'bytes from|loss'
in_ns pod-a ping -c1 -W2 "$GW" | grep -E 'bytes from|loss'
# A TCP server outside the cluster prints the source address it sees: the node's, thanks to MASQUERADE.
in_ns outside node -e 'const s=require("net").createServer(c=>{console.log("outside sees a connection from "+c.remoteAddress);c.end();s.close()});s.listen(8080,"203.0.113.1")' &
SERVER=$!
sleep 0.5
in_ns pod-a node -e 'const c=require("net").connect(8080,"203.0.113.1",()=>{console.log("pod-a ('"$A"') connected to 203.0.113.1:8080");c.end()});c.on("error",e=>{console.error(e.message);process.exit(1)})'
wait $SERVER

step "host-gw: a second node on a LAN with node (10.0.1.71 and 10.0.1.167), PodCIDR 172.20.2.0/24"
for n in node2 pod-c; do ip netns add $n; in_ns $n ip link set lo up; done
ip link add lan0 netns node type veth peer name lan0 netns node2
in_ns node ip addr add 10.0.1.71/24 dev lan0; in_ns node ip link set lan0 up
in_ns node2 ip addr add 10.0.1.167/24 dev lan0; in_ns node2 ip link set lan0 up
mkdir -p "$WORK/node2/net.d" "$WORK/node2/networks"
# Static peers (in a cluster: every Node object, watched); each agent ignores its own entry.
printf '%s\n' '{"nodes":[{"name":"node","podCIDRs":["'"$POD_CIDR"'"],"internalIPs":["10.0.1.71"]},' \
  '          {"name":"node2","podCIDRs":["172.20.2.0/24"],"internalIPs":["10.0.1.167"]}]}' >"$WORK/peers.json"
cat "$WORK/peers.json"
in_ns node "$REPO/dist/kubenet-agent" run --once --node-name node --static-pod-cidr "$POD_CIDR" --cluster-cidr "$CLUSTER_CIDR" \
  --routes host-gw --peers-file "$WORK/peers.json" --cni-conf-dir "$WORK/net.d" --ipam-data-dir "$WORK/networks" \
  --masq-config "" --listen off --log-level warn >/dev/null
in_ns node2 "$REPO/dist/kubenet-agent" run --once --node-name node2 --static-pod-cidr 172.20.2.0/24 --cluster-cidr "$CLUSTER_CIDR" \
  --routes host-gw --peers-file "$WORK/peers.json" --cni-conf-dir "$WORK/node2/net.d" --ipam-data-dir "$WORK/node2/networks" \
  --masq-config "" --listen off --log-level warn >/dev/null
echo "--- node:  ip route show proto 107 (our route protocol)"; in_ns node ip route show proto 107
echo "--- node2: ip route show proto 107"; in_ns node2 ip route show proto 107
CONF2=$(ls "$WORK"/node2/net.d/*.conflist | head -1)
PLUGIN_CONF2=$(node -e 'const l=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  console.log(JSON.stringify({cniVersion:l.cniVersion,name:l.name,...l.plugins[0]}))' "$CONF2")
in_ns node2 env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID=demo-pod-c CNI_NETNS=/run/netns/pod-c CNI_IFNAME=eth0 \
  CNI_PATH="$REPO/dist" "$REPO/dist/kubenet" <<<"$PLUGIN_CONF2" >/dev/null
C=$(in_ns pod-c ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
echo "--- pod-c on node2: $C"
in_ns pod-a ping -c1 -W2 "$C" | grep -E 'bytes from|loss'
in_ns pod-c node -e 'const s=require("net").createServer(c=>{console.log("pod-c sees a connection from "+c.remoteAddress+" (pod-a keeps its own address across nodes)");c.end();s.close()});s.listen(8080)' &
SERVER=$!
sleep 0.5
in_ns pod-a node -e 'const c=require("net").connect(8080,"'"$C"'",()=>{console.log("pod-a ('"$A"') on node connected to pod-c ('"$C"'):8080 on node2");c.end()});c.on("error",e=>{console.error(e.message);process.exit(1)})'
wait $SERVER

step "plugin: CHECK pod-a, then DEL both (and DEL again: idempotent)"
cni CHECK demo-pod-a /run/netns/pod-a "$RESULT_A" && echo "CHECK pod-a: ok"
cni DEL demo-pod-a /run/netns/pod-a "$RESULT_A" && echo "DEL pod-a: ok"
ip netns del pod-b
cni DEL demo-pod-b /run/netns/pod-b && echo "DEL pod-b after its netns was deleted: ok"
cni DEL demo-pod-b "" && echo "DEL pod-b again, empty CNI_NETNS: ok"
echo "--- leases left: $(ls "$WORK"/networks/kubenet | grep -cE '^[0-9a-f.:]+$' || true)"
echo "--- veths left in node: $(in_ns node ip -o link show type veth | grep -c veth || true)"

step "agent: cleanup (removes its chains, jumps, host-gw routes and conflist)"
in_ns node "$REPO/dist/kubenet-agent" cleanup --cni-conf-dir "$WORK/net.d" --masq-config "" --log-level warn
echo "--- iptables -t nat (node) after cleanup"; in_ns node iptables-save -t nat | grep -v '^#'
echo "--- node: ip route show proto 107 after cleanup: $(in_ns node ip route show proto 107 | wc -l) routes"
step "done: all namespaces are removed on exit"
