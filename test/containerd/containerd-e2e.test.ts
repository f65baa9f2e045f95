// End to end through Debian's containerd (CRI) and runc: pods get addresses from the PodCIDR our agent
// configured and reach each other; Stop + Remove leave no lease, veth or rule; a containerd restart with pods
// running keeps them, and removing them afterwards leaves nothing. No timing assertions: only outcomes.

import t from "tap";
import type { Test } from "tap";
import { containsIp } from "../../core/ip.js";
import { parseCidr, parseIp } from "../../core/ip-parse.js";
import { CONTAINERD_SKIP, startContainerd, type Containerd } from "./containerd-harness.js";
import { describePod, ping, runPod, stopAndRemove, type Pod } from "./pods.js";

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

/** Per-pod iptables state our plugin may write (masquerade chains, hostPort chains): names carrying "CNI-". */
function perPodRules(ctrd: Containerd): string[] {
  const save = ctrd.run("iptables-save", []).stdout + ctrd.run("ip6tables-save", []).stdout;
  return save.split("\n").filter((l) => /CNI-[0-9a-f]{8,}/.test(l));
}

function expectClean(t: Test, ctrd: Containerd, when: string): void {
  t.same(leases(ctrd), [], `${when}: no lease left`);
  t.same(podVeths(ctrd), [], `${when}: no pod veth left`);
  t.same(perPodRules(ctrd), [], `${when}: no per-pod iptables rule left`);
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
