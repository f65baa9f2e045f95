// scripts/bench-hostgw: host-gw numbers for the closing note. Run by `bash scripts/bench.sh hostgw`
// inside the bench sandbox (unshare --net --mount, private /run/netns); every namespace is created here.
//  1. 500 nodes at once (static peers file): routes/s of our planner + reconciler (one rtnetlink request per
//     route), interleaved with iproute2 (`ip -batch` of the same 500 `route add`), ratio; then the converged
//     re-sync (zero writes) and the removal of all 500.
//  2. Node event -> route on the other node: the built agent in Kubernetes mode (--routes host-gw) against
//     the fake API server; a new Node with a PodCIDR is created, `ip monitor route` in the node's namespace
//     reports the route; the time is taken from the event written to the watch stream.
// Prints a report; no thresholds.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseCidr } from "../core/ip-parse.js";
import { planHostGw } from "../agent/routes/plan.js";
import { parsePeersFile } from "../agent/routes/peers.js";
import { localAddrsOf, syncRoutes } from "../agent/routes/reconcile.js";
import { isErrno, openRtnl } from "../native/index.js";
import { FakeApiServer, kubeconfigFor } from "../test/agent/fake-apiserver.js";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const agentBin = resolve(arg("--agent", "dist/kubenet-agent"));
const nodes = Number(arg("--nodes", "500"));
const runs = Number(arg("--runs", "5"));
const events = Number(arg("--events", "20"));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const sh = (args: string[], input?: string): string => execFileSync(args[0] as string, args.slice(1), { encoding: "utf8", input: input ?? "" });

/** A node namespace with eth0 10.1.0.1/16 (a veth into a second namespace), so 10.1.x.y peers are on-link. */
function nodeNs(tag: string): { name: string; path: string; destroy(): void } {
  const name = `bh-${tag}-${process.pid}`;
  sh(["ip", "netns", "add", name]);
  sh(["ip", "netns", "add", `${name}-p`]);
  sh(["ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", `${name}-p`]);
  sh(["ip", "-n", name, "addr", "add", "10.1.0.1/16", "dev", "eth0"]);
  sh(["ip", "-n", name, "link", "set", "eth0", "up"]);
  sh(["ip", "-n", name, "link", "set", "lo", "up"]);
  return { name, path: `/run/netns/${name}`, destroy: () => (sh(["ip", "netns", "del", name]), sh(["ip", "netns", "del", `${name}-p`])) };
}

const peerList = (n: number): object[] =>
  Array.from({ length: n }, (_, i) => ({ name: `n${i}`, podCIDRs: [`172.${16 + (i >> 8)}.${i & 255}.0/24`], internalIPs: [`10.1.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`] }));

function ours(path: string, nodesJson: object[]): { ms: number; writes: number } {
  const rtnl = openRtnl({ netnsPath: path });
  try {
    const t0 = performance.now();
    const plan = planHostGw({ nodeName: "self", podCidrs: [parseCidr("10.250.0.0/24")], localAddrs: localAddrsOf(rtnl.addrList()), peers: parsePeersFile(JSON.stringify({ nodes: nodesJson }), "bench") });
    const r = syncRoutes(rtnl, plan.routes, isErrno);
    const ms = performance.now() - t0;
    if (r.errors.length > 0) throw r.errors[0];
    return { ms, writes: r.added.length + r.replaced.length + r.deleted.length };
  } finally {
    rtnl.close();
  }
}

function benchBulk(): void {
  const peers = peerList(nodes);
  const batch = peers.map((p) => {
    const q = p as { podCIDRs: string[]; internalIPs: string[] };
    return `route add ${q.podCIDRs[0]} via ${q.internalIPs[0]} proto 107`;
  }).join("\n");
  const res = { ours: [] as number[], ip: [] as number[], converged: [] as number[], removal: [] as number[] };
  for (let run = 0; run < runs; run++) {
    const a = nodeNs(`a${run}`);
    const b = nodeNs(`b${run}`);
    try {
      const first = ours(a.path, peers);
      if (first.writes !== nodes) throw new Error(`expected ${nodes} routes, wrote ${first.writes}`);
      res.ours.push(first.ms);
      res.converged.push(ours(a.path, peers).ms);
      res.removal.push(ours(a.path, []).ms);
      const t0 = performance.now();
      sh(["ip", "-n", b.name, "-batch", "-"], batch);
      res.ip.push(performance.now() - t0);
    } finally {
      a.destroy();
      b.destroy();
    }
  }
  const o = median(res.ours);
  const i = median(res.ip);
  console.log(`${nodes} nodes at once (median of ${runs}, load ${loadavg()[0]?.toFixed(1)}):`);
  console.log(`  kubenet-agent plan + reconcile: ${o.toFixed(1)} ms = ${Math.round((nodes / o) * 1000)} routes/s`);
  console.log(`  iproute2 ip -batch (same routes, no planning): ${i.toFixed(1)} ms = ${Math.round((nodes / i) * 1000)} routes/s; ours/ip time ratio ${(o / i).toFixed(2)}`);
  console.log(`  converged re-sync (dump + diff, zero writes): ${median(res.converged).toFixed(1)} ms; removal of all ${nodes}: ${median(res.removal).toFixed(1)} ms`);
}

async function benchEvents(): Promise<void> {
  const node = nodeNs("ev");
  const api = new FakeApiServer();
  // The API server listens inside the node's namespace's peer end: reachable from the agent over the veth.
  sh(["ip", "link", "add", "bhapi0", "type", "veth", "peer", "name", "api0", "netns", node.name]);
  sh(["ip", "addr", "add", "169.254.99.1/30", "dev", "bhapi0"]);
  sh(["ip", "link", "set", "bhapi0", "up"]);
  sh(["ip", "-n", node.name, "addr", "add", "169.254.99.2/30", "dev", "api0"]);
  sh(["ip", "-n", node.name, "link", "set", "api0", "up"]);
  const addr = await api.listen("169.254.99.1");
  const dir = mkdtempSync(join(tmpdir(), "bench-hostgw-"));
  writeFileSync(join(dir, "kubeconfig"), kubeconfigFor(addr));
  api.setNode("self", { podCIDR: "10.250.0.0/24", podCIDRs: ["10.250.0.0/24"] }, { addresses: [{ type: "InternalIP", address: "10.1.0.1" }] });
  const agent = spawn("nsenter", [`--net=${node.path}`, "--", process.execPath, agentBin, "run", "--kubeconfig", join(dir, "kubeconfig"), "--node-name", "self",
    "--routes", "host-gw", "--cni-conf-dir", join(dir, "net.d"), "--ipam-data-dir", join(dir, "ipam"), "--masq-config", "", "--listen", "off", "--resync-interval", "600s"], { stdio: "ignore" });
  const monitor = spawn("ip", ["-n", node.name, "monitor", "route"], { stdio: ["ignore", "pipe", "ignore"] });
  const seen = new Map<string, number>();
  let buf = "";
  monitor.stdout.on("data", (b: Buffer) => {
    buf += b.toString();
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^(172\.31\.\d+\.0\/24) via .* proto 107/.exec(line);
      if (m !== null && !seen.has(m[1] as string)) seen.set(m[1] as string, performance.now());
    }
  });
  try {
    await waitUntil(() => api.openWatches >= 2, 120_000); // the Node watch and the all-Nodes watch
    const lat: number[] = [];
    for (let i = 0; i < events; i++) {
      const cidr = `172.31.${i}.0/24`;
      api.setNode(`new${i}`, {}, { addresses: [{ type: "InternalIP", address: `10.1.9.${i + 1}` }] });
      await new Promise((r) => setTimeout(r, 200));
      api.patchPodCidrs(`new${i}`, [cidr]); // the node IPAM controller assigns the PodCIDR
      const sent = api.lastEventSentAt;
      await waitUntil(() => seen.has(cidr), 30_000);
      lat.push((seen.get(cidr) as number) - sent);
    }
    const s = [...lat].sort((a, b) => a - b);
    console.log(`Node event (PodCIDR assigned) -> route on the other node, ${events} events (load ${loadavg()[0]?.toFixed(1)}): median ${median(lat).toFixed(1)} ms, min ${s[0]?.toFixed(1)}, max ${s.at(-1)?.toFixed(1)} ms`);
  } finally {
    agent.kill("SIGTERM");
    monitor.kill("SIGTERM");
    await api.close();
    node.destroy();
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 1));
  }
}

benchBulk();
benchEvents().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
