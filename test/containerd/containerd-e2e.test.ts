// End to end through Debian's containerd (CRI) and runc: pods get addresses from the PodCIDR our agent
// configured and reach each other; a pod's hostPorts (PortMapping in its sandbox config, passed to us as
// runtimeConfig.portMappings) answer on the node's address; Stop + Remove leave no lease, veth, rule or record;
// a containerd restart with pods running keeps them, and removing them afterwards leaves nothing. No timing
// assertions: only outcomes.

import t from "tap";
import type { Test } from "tap";
import { containsIp } from "../../core/ip.js";
import { parseCidr, parseIp } from "../../core/ip-parse.js";
import { PROTOCOL_TCP, PROTOCOL_UDP } from "../../core/cri/messages.js";
import { createNetns, type TestNetns } from "../support/netns.js";
import { request, startEchoServer } from "../plugin/hostport-support.js";
import { CONTAINERD_SKIP, startContainerd, type Containerd } from "./containerd-harness.js";
import { describePod, kubenetAdmin, ping, runPod, stopAndRemove, type Pod } from "./pods.js";

const POD_CIDR = "10.244.1.0/24";
const N = 3;

/** Lease files (IP-named) of the network in the holder's /var/lib/cni/networks. */
function leases(ctrd: Containerd): string[] {
  const out = ctrd.run("sh", ["-c", "ls /var/lib/cni/networks/*/ 2>/dev/null"]).stdout;
  return out.split("\n").filter((n) => /^[0-9a-f.:]+$/.test(n) && n.includes("."));
}

function podVeths(ctrd: Containerd): string[] {
  const links = JSON.parse(ctrd.exec("ip", ["-j", "-d", "link", "show", "type", "veth"]) || "[]") as { ifname: string; ifalias?: string }[];
  return links.filter((l) => (l.ifalias ?? "").startsWith("kubenet:")).map((l) => l.ifname);
}

/**
 * Per-pod iptables state our plugin may write: masquerade chains (CNI-<hex>), host-port chains (CNI-DN-<hex>)
 * and the DNAT/mark rules that name a pod's host port in the shared CNI-HOSTPORT-* chains.
 */
function perPodRules(ctrd: Containerd): string[] {
  const save = ctrd.run("iptables-save", []).stdout + ctrd.run("ip6tables-save", []).stdout;
  return save.split("\n").filter((l) => /CNI-(DN-)?[0-9a-f]{8,}/.test(l) || /^-A CNI-HOSTPORT-\S+ .*--dport/.test(l));
}

/** Host-port records the kubenet type keeps beside the leases (one file per container with host ports). */
function hostPortRecords(ctrd: Containerd): string[] {
  return ctrd.run("sh", ["-c", "ls /var/lib/cni/networks/*/kubenet-hostports/ 2>/dev/null"]).stdout.split("\n").filter(Boolean);
}

function expectClean(t: Test, ctrd: Containerd, when: string): void {
  t.same(leases(ctrd), [], `${when}: no lease left`);
  t.same(podVeths(ctrd), [], `${when}: no pod veth left`);
  t.same(perPodRules(ctrd), [], `${when}: no per-pod iptables rule left`);
  t.same(hostPortRecords(ctrd), [], `${when}: no host-port record left`);
  t.same(ctrd.leftoverCgroups(), [], `${when}: no pod cgroup left`);
}

// containerd and pods on a loaded machine: minutes, not seconds (tap's default per-file limit is 300 s here).
t.setTimeout(20 * 60_000);

t.test("N pods get addresses from the PodCIDR and reach each other; Stop + Remove leave nothing", { skip: CONTAINERD_SKIP }, async (t) => {
  const ctrd = await startContainerd(t, { podCidr: POD_CIDR });
  const pods: Pod[] = [];
  for (let i = 0; i < N; i++) pods.push(await runPod(ctrd, `pod-${i}`));
  const cidr = parseCidr(POD_CIDR);
  for (const p of pods) {
    t.equal(p.ips.length, 1, `${p.name} has one IP (${p.ips.join(",")})`);
    t.ok(containsIp(cidr, parseIp(p.ips[0] ?? "")), `${p.name}'s ${p.ips[0]} is in ${POD_CIDR}`);
    t.ok(p.pid > 0, `${p.name} has a pause process`);
  }
  t.equal(new Set(pods.map((p) => p.ips[0])).size, N, "addresses are distinct");
  t.equal(leases(ctrd).length, N, "one lease per pod");
  t.equal(podVeths(ctrd).length, N, "one veth per pod");
  for (const a of pods) {
    for (const b of pods) if (a !== b) t.ok(ping(a, b.ips[0] ?? ""), `${a.name} reaches ${b.name}`);
  }
  t.ok(ping(pods[0] as Pod, "10.244.1.1"), "a pod reaches its gateway (the bridge)");
  for (const p of pods) await stopAndRemove(ctrd.cri, p.id);
  t.same(await ctrd.cri.listPodSandbox(), [], "the runtime knows no sandbox");
  expectClean(t, ctrd, "after Stop + Remove");
  t.same(ctrd.strayPids(), [], "no process left in the pods' world but containerd");
});

const NODE_IP = "192.0.2.1";

/** Another machine on the node's link: a namespace of the test joined to containerd's by a veth. */
function otherMachine(t: Test, ctrd: Containerd): TestNetns {
  const peer = createNetns(t, "peer");
  peer.exec("ip", ["link", "add", "peerif", "type", "veth", "peer", "name", "nodeif", "netns", String(ctrd.holderPid)]);
  peer.exec("ip", ["addr", "add", "192.0.2.2/24", "dev", "peerif"]);
  peer.exec("ip", ["link", "set", "peerif", "up"]);
  ctrd.exec("ip", ["addr", "add", `${NODE_IP}/24`, "dev", "nodeif"]);
  ctrd.exec("ip", ["link", "set", "nodeif", "up"]);
  return peer;
}

t.test("a hostPort pod through CRI: TCP and UDP on the node's address from another machine and from the node; Stop + Remove leave nothing", { skip: CONTAINERD_SKIP }, async (t) => {
  const ctrd = await startContainerd(t, { podCidr: POD_CIDR });
  const peer = otherMachine(t, ctrd);
  const node = { run: (cmd: string, args: readonly string[]) => ctrd.run(cmd, args) };
  const pod = await runPod(ctrd, "web", [
    { protocol: PROTOCOL_TCP, containerPort: 80, hostPort: 8080 },
    { protocol: PROTOCOL_UDP, containerPort: 81, hostPort: 8081 },
  ]);
  const stopServer = await startEchoServer(t, { path: `/proc/${pod.pid}/ns/net` }, 80, 81);
  for (const [proto, port] of [["tcp", 8080], ["udp", 8081]] as const) {
    t.equal(request(peer, proto, NODE_IP, port), `${proto} ::ffff:192.0.2.2`, `${proto} ${port} from another machine reaches the pod (source kept)`);
    t.ok(request(node, proto, NODE_IP, port)?.startsWith(proto), `${proto} ${port} from the node to its own address`);
    t.ok(request(node, proto, "127.0.0.1", port)?.startsWith(proto), `${proto} ${port} from the node's 127.0.0.1`);
  }
  t.same(hostPortRecords(ctrd), [pod.id], "the record of the pod's host ports");
  const status = JSON.parse(kubenetAdmin(ctrd, ["status", "--json"])) as { attachments: { containerId: string; hostPorts: string[]; leaked: boolean }[] };
  t.same(status.attachments.map((a) => [a.containerId, a.hostPorts, a.leaked]), [[pod.id, ["8080->80/tcp", "8081->81/udp"], false]], "kubenet status shows the host ports");

  stopServer();
  await stopAndRemove(ctrd.cri, pod.id);
  for (const [proto, port] of [["tcp", 8080], ["udp", 8081]] as const) {
    t.equal(request(peer, proto, NODE_IP, port), undefined, `${proto} ${port}: nothing answers once the pod is removed`);
  }
  expectClean(t, ctrd, "after Stop + Remove of the hostPort pod");
  t.same(ctrd.strayPids(), [], "no process left in the pods' world but containerd");
});

t.test("containerd restarted with pods running: pods keep their network; removing them afterwards leaves nothing", { skip: CONTAINERD_SKIP }, async (t) => {
  const ctrd = await startContainerd(t, { podCidr: POD_CIDR });
  const before: Pod[] = [await runPod(ctrd, "a"), await runPod(ctrd, "b")];
  await ctrd.stop();
  t.same(ctrd.strayPids().length > 0, true, "pods (shims, pause) outlive containerd");
  await ctrd.start();
  const after = await Promise.all(before.map((p) => describePod(ctrd.cri, p.id)));
  t.same(after.map((p) => p.ips), before.map((p) => p.ips), "the runtime still reports the same IPs");
  t.ok(ping(after[0] as Pod, after[1]?.ips[0] ?? ""), "the pods still reach each other");
  // A new pod after the restart gets a fresh address: no lease was lost or duplicated.
  const c = await runPod(ctrd, "c");
  t.notOk(before.some((p) => p.ips[0] === c.ips[0]), `the new pod's ${c.ips[0]} is not taken twice`);
  for (const p of [...after, c]) await stopAndRemove(ctrd.cri, p.id);
  expectClean(t, ctrd, "after restart + removal");
  await ctrd.stop();
  t.same(ctrd.strayPids(), [], "no process left once containerd stopped");
});
