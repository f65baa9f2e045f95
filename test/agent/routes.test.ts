// The host-gw route reconciler and the FORWARD chain against the kernel, in a throwaway "node" namespace
// (oracle: `ip -j route`, iptables-save): adoption after a restart, foreign routes never touched, zero
// writes when converged, both iptables backends, cleanup.

import t from "tap";
import { parseCidr } from "../../core/ip-parse.js";
import { createHostDeps } from "../../agent/host.js";
import { nullLogger } from "../../agent/log.js";
import { runCleanup } from "../../agent/cleanup.js";
import { FORWARD_CHAIN, syncForward } from "../../agent/masq/forward.js";
import { planHostGw } from "../../agent/routes/plan.js";
import { parsePeersFile } from "../../agent/routes/peers.js";
import { HOSTGW_PROTOCOL, localAddrsOf, syncRoutes } from "../../agent/routes/reconcile.js";
import { isErrno, openRtnl } from "../../native/index.js";
import { KERNEL_SKIP, createNetns, type Teardownable, type TestNetns } from "../support/netns.js";

/** A node with eth0 10.0.1.71/24 (a veth whose peer sits in a second namespace) and a foreign route. */
function node(t: Teardownable): TestNetns {
  const ns = createNetns(t, "node");
  const peer = createNetns(t, "vpc");
  ns.exec("ip", ["link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", peer.name]);
  ns.exec("ip", ["addr", "add", "10.0.1.71/24", "dev", "eth0"]);
  ns.exec("ip", ["-6", "addr", "add", "fd00:1::71/64", "dev", "eth0", "nodad"]);
  ns.exec("ip", ["link", "set", "eth0", "up"]);
  ns.exec("ip", ["route", "add", "172.20.9.0/24", "via", "10.0.1.1", "proto", "static"]);
  return ns;
}

const peersOf = (nodes: object[]) => parsePeersFile(JSON.stringify({ nodes }), "test");
const routes = (ns: TestNetns, args: string[] = [], family: 4 | 6 = 4): string[] =>
  (ns.ipJson([`-${family}`, "route", "show", ...args]) as { dst: string; gateway?: string; protocol?: string }[]).map((r) => `${r.dst} via ${r.gateway ?? "-"} ${r.protocol ?? ""}`.trim());

function sync(ns: TestNetns, nodes: object[]): ReturnType<typeof syncRoutes> {
  const rtnl = openRtnl({ netnsPath: ns.path });
  try {
    const plan = planHostGw({ nodeName: "w1", podCidrs: [parseCidr("172.20.1.0/24")], localAddrs: localAddrsOf(rtnl.addrList()), peers: peersOf(nodes) });
    return syncRoutes(rtnl, plan.routes, isErrno);
  } finally {
    rtnl.close();
  }
}

t.test("route reconciler: add, zero writes when converged, adopt after restart, replace, delete; foreign routes stay", { skip: KERNEL_SKIP }, async (t) => {
  const ns = node(t);
  const cluster = [
    { name: "w2", podCIDRs: ["172.20.2.0/24", "fd00:20:2::/64"], internalIPs: ["10.0.1.167", "fd00:1::167"] },
    { name: "w9", podCIDRs: ["172.20.9.0/24"], internalIPs: ["10.0.1.9"] },
    { name: "far", podCIDRs: ["172.20.5.0/24"], internalIPs: ["10.9.9.9"] },
  ];
  const first = sync(ns, cluster);
  t.same(first.errors, []);
  t.same(first.added, ["172.20.2.0/24 via 10.0.1.167 (w2)", "fd00:20:2::/64 via fd00:1::167 (w2)"]);
  t.match(first.conflicts, [/172\.20\.9\.0\/24 via 10\.0\.1\.9 \(w9\): held by a foreign route \(protocol 4/]);
  t.same(routes(ns, ["proto", String(HOSTGW_PROTOCOL)]), ["172.20.2.0/24 via 10.0.1.167"], "oracle: our IPv4 route, with our protocol");
  t.same(routes(ns, ["proto", String(HOSTGW_PROTOCOL)], 6), ["fd00:20:2::/64 via fd00:1::167"], "oracle: our IPv6 route");
  t.ok(routes(ns).includes("172.20.9.0/24 via 10.0.1.1 static"), "the foreign route is untouched");

  // A restarted agent has no memory: it reads the table, recognises its routes by protocol, writes nothing.
  for (let i = 0; i < 3; i++) {
    const again = sync(ns, cluster);
    t.same([again.added, again.replaced, again.deleted, again.errors], [[], [], [], []], `run ${i + 2}: zero writes`);
    t.equal(again.owned, 2);
  }

  const moved = sync(ns, [{ name: "w2", podCIDRs: ["172.20.2.0/24"], internalIPs: ["10.0.1.168"] }, { name: "w3", podCIDRs: ["172.20.3.0/24"], internalIPs: ["10.0.1.200"] }]);
  t.same([moved.added, moved.replaced, moved.deleted], [["172.20.3.0/24 via 10.0.1.200 (w3)"], ["172.20.2.0/24 via 10.0.1.168 (w2)"], ["fd00:20:2::/64 via fd00:1::167"]]);
  t.same(routes(ns, ["proto", String(HOSTGW_PROTOCOL)]).sort(), ["172.20.2.0/24 via 10.0.1.168", "172.20.3.0/24 via 10.0.1.200"]);

  // An operator's route for a PodCIDR we route (same destination, another metric) is never removed.
  ns.exec("ip", ["route", "add", "172.20.3.0/24", "via", "10.0.1.1", "metric", "50", "proto", "static"]);
  const gone = sync(ns, []);
  t.same([...gone.deleted].sort(), ["172.20.2.0/24 via 10.0.1.168", "172.20.3.0/24 via 10.0.1.200"]);
  t.same(routes(ns, ["proto", String(HOSTGW_PROTOCOL)]), [], "all ours gone");
  t.same(routes(ns, ["proto", "static"]).sort(), ["172.20.3.0/24 via 10.0.1.1 static", "172.20.9.0/24 via 10.0.1.1 static"].map((s) => s.replace(" static", "")), "foreign routes stay");
});

const filterRules = (ns: TestNetns, mode: "nft" | "legacy"): string[] =>
  ns.exec(`iptables-${mode}-save`, mode === "nft" ? ["-t", "filter"] : []).split("\n").filter((l) => l.startsWith("-A ") || l.startsWith(":FORWARD"));

for (const mode of ["nft", "legacy"] as const) {
  t.test(`FORWARD chain (${mode}): policy DROP, one restore, zero writes after, removed by cleanup`, { skip: KERNEL_SKIP }, async (t) => {
    const ns = createNetns(t, "node");
    ns.exec(`iptables-${mode}`, ["-P", "FORWARD", "DROP"]);
    ns.exec(`iptables-${mode}`, ["-A", "FORWARD", "-j", "DROP"]);
    const host = createHostDeps({ lockWaitSeconds: 5, exec: (file, args, options) => execIn(ns, file, args, options?.input) });
    const ipt = host.createIptables(4, mode);
    const spec = { family: 4 as const, chain: FORWARD_CHAIN, cidrs: [parseCidr("172.20.0.0/16")] };
    t.equal(await syncForward(ipt, spec), 3, "chain (2 rules) and jump written");
    t.same(filterRules(ns, mode), [
      ":FORWARD DROP [0:0]",
      '-A FORWARD -m comment --comment "kubenet: pod traffic is forwarded whatever the FORWARD policy" -j KUBENET-FORWARD',
      "-A FORWARD -j DROP",
      '-A KUBENET-FORWARD -s 172.20.0.0/16 -m comment --comment "kubenet: cluster traffic is forwarded" -j ACCEPT',
      '-A KUBENET-FORWARD -d 172.20.0.0/16 -m comment --comment "kubenet: cluster traffic is forwarded" -j ACCEPT',
    ]);
    for (let i = 0; i < 3; i++) t.equal(await syncForward(ipt, spec), 0, "in place: zero writes");
    const report = await runCleanup({ cniConfDir: "/nonexistent", cniConfName: "05-kubenet.conflist", masqChain: "KUBENET-MASQ", iptablesMode: mode }, { ...host, openRtnl: () => openRtnl({ netnsPath: ns.path }) }, nullLogger);
    t.same(report.errors, []);
    t.match(report.removed, [`KUBENET-FORWARD (IPv4, ${mode})`]);
    t.same(filterRules(ns, mode), [":FORWARD DROP [0:0]", "-A FORWARD -j DROP"], "only what was there before");
  });
}

async function execIn(ns: TestNetns, file: string, args: readonly string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = ns.run(file, args, input);
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
