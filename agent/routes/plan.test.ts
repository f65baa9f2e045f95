// The host-gw planner and the peers file: desired routes from node lists, off-link peers, dual-stack,
// overlaps, changes against the kernel table. Pure; the kernel side is in test/agent/routes.test.ts.

import t from "tap";
import { formatCidr, formatIp } from "../../core/ip.js";
import { parseCidr, parseIp } from "../../core/ip-parse.js";
import { parsePodCidrs } from "../sources/pod-cidrs.js";
import { parsePeersFile, peerOfNode, type Peer } from "./peers.js";
import { diffRoutes, isEmpty, planHostGw, type HostGwInput, type KernelRoute } from "./plan.js";

const peer = (name: string, cidrs: string[], ips: string[]): Peer => ({ name, podCidrs: cidrs.length ? parsePodCidrs(cidrs) : [], internalIps: ips.map(parseIp) });
const base: HostGwInput = {
  nodeName: "w1",
  podCidrs: parsePodCidrs(["172.20.1.0/24"]),
  localAddrs: [parseCidr("10.0.1.71/24"), parseCidr("fd00:1::71/64")],
  peers: [],
};
const show = (routes: readonly { dst: { addr: { family: 4 | 6; value: bigint }; prefixLen: number }; gateway: { family: 4 | 6; value: bigint }; peer: string }[]): string[] =>
  routes.map((r) => `${formatCidr(r.dst)} via ${formatIp(r.gateway)} ${r.peer}`);

t.test("planHostGw: one route per on-link peer; own entry ignored by name and by address", async (t) => {
  const plan = planHostGw({
    ...base,
    peers: [
      peer("w1", ["172.20.1.0/24"], ["10.0.1.71"]),
      peer("w2", ["172.20.2.0/24"], ["10.0.1.167"]),
      peer("w1-renamed", ["172.20.9.0/24"], ["10.0.1.71"]),
      peer("w0", ["172.20.3.0/24"], ["10.0.1.5"]),
    ],
  });
  t.same(show(plan.routes), ["172.20.3.0/24 via 10.0.1.5 w0", "172.20.2.0/24 via 10.0.1.167 w2"], "sorted by peer name");
  t.same(plan.unrouted, []);
});

t.test("planHostGw: off-link peers, missing addresses, unassigned PodCIDRs and invalid nodes are reported, not routed", async (t) => {
  const plan = planHostGw({
    ...base,
    peers: [
      peer("far", ["172.20.4.0/24"], ["10.0.2.9"]),
      peer("noaddr", ["172.20.5.0/24"], []),
      peer("new", [], ["10.0.1.80"]),
      { name: "bad", podCidrs: [], internalIps: [], problem: 'invalid InternalIP "x"' },
      peer("second-ip", ["172.20.6.0/24"], ["192.168.9.9", "10.0.1.90"]),
    ],
  });
  t.same(show(plan.routes), ["172.20.6.0/24 via 10.0.1.90 second-ip"], "the first on-link address of the family is used");
  t.same(plan.unrouted.map((u) => [u.peer, u.reason]), [["bad", "invalid"], ["far", "off-link"], ["noaddr", "no-address"]]);
  t.match(plan.unrouted.find((u) => u.peer === "far")?.detail, /10\.0\.2\.9 not on a directly connected subnet/);
});

t.test("planHostGw: a /32 address makes nothing on-link; our own address is never a gateway", async (t) => {
  const plan = planHostGw({ ...base, localAddrs: [parseCidr("10.0.1.71/32")], peers: [peer("w2", ["172.20.2.0/24"], ["10.0.1.167"])] });
  t.same(plan.routes, []);
  t.equal(plan.unrouted[0]?.reason, "off-link");
});

t.test("planHostGw: dual-stack peers get one route per family; a family without an address is reported", async (t) => {
  const plan = planHostGw({
    ...base,
    podCidrs: parsePodCidrs(["172.20.1.0/24", "fd00:20:1::/64"]),
    peers: [
      peer("w2", ["172.20.2.0/24", "fd00:20:2::/64"], ["10.0.1.167", "fd00:1::167"]),
      peer("w3", ["172.20.3.0/24", "fd00:20:3::/64"], ["10.0.1.200"]),
    ],
  });
  t.same(show(plan.routes), ["172.20.2.0/24 via 10.0.1.167 w2", "fd00:20:2::/64 via fd00:1::167 w2", "172.20.3.0/24 via 10.0.1.200 w3"]);
  t.same(plan.unrouted.map((u) => [u.peer, u.family, u.reason]), [["w3", 6, "no-address"]]);
});

t.test("planHostGw: a PodCIDR overlapping ours or an earlier peer's is reported", async (t) => {
  const plan = planHostGw({
    ...base,
    peers: [peer("a", ["172.20.2.0/24"], ["10.0.1.2"]), peer("b", ["172.20.2.0/23"], ["10.0.1.3"]), peer("c", ["172.20.1.0/24"], ["10.0.1.4"])],
  });
  t.same(show(plan.routes), ["172.20.2.0/24 via 10.0.1.2 a"]);
  t.same(plan.unrouted.map((u) => u.detail), ["PodCIDR 172.20.2.0/23 overlaps 172.20.2.0/24 of a", "PodCIDR 172.20.1.0/24 overlaps 172.20.1.0/24 of this node"]);
  const nested = planHostGw({ ...base, peers: [peer("a", ["172.20.8.0/23"], ["10.0.1.2"]), peer("b", ["172.20.9.0/24"], ["10.0.1.3"]), peer("c", ["fd00:8::/64"], [])] });
  t.same(show(nested.routes), ["172.20.8.0/23 via 10.0.1.2 a"], "a longer prefix inside an earlier shorter one");
  t.same(nested.unrouted.map((u) => [u.peer, u.reason]), [["b", "overlap"], ["c", "no-address"]]);
});

const kr = (dst: string, gw: string | undefined, protocol: number, priority?: number): KernelRoute => ({ dst: parseCidr(dst), gateway: gw === undefined ? undefined : parseIp(gw), protocol, priority });

t.test("diffRoutes: converged => empty; new, changed and gone nodes; foreign routes are never touched", async (t) => {
  const wanted = planHostGw({ ...base, peers: [peer("w2", ["172.20.2.0/24"], ["10.0.1.167"]), peer("w3", ["172.20.3.0/24"], ["10.0.1.200"])] }).routes;
  const converged = diffRoutes(wanted, [kr("10.0.1.0/24", undefined, 2), kr("172.20.2.0/24", "10.0.1.167", 107), kr("172.20.3.0/24", "10.0.1.200", 107)], 107);
  t.ok(isEmpty(converged), "zero changes when the table matches");

  const changes = diffRoutes(wanted, [kr("172.20.2.0/24", "10.0.1.99", 107), kr("172.20.7.0/24", "10.0.1.7", 107, 0), kr("172.20.8.0/24", "10.0.1.8", 4)], 107);
  t.same(show(changes.replace), ["172.20.2.0/24 via 10.0.1.167 w2"], "address changed: replaced");
  t.same(show(changes.add), ["172.20.3.0/24 via 10.0.1.200 w3"], "new node: added");
  t.same(changes.del.map((r) => formatCidr(r.dst ?? parseCidr("0.0.0.0/0"))), ["172.20.7.0/24"], "gone node: only our route is deleted");

  const foreign = diffRoutes(wanted, [kr("172.20.3.0/24", "10.0.1.1", 4), kr("172.20.3.0/24", "10.0.1.201", 107, 5)], 107);
  t.same(show(foreign.add), ["172.20.2.0/24 via 10.0.1.167 w2"], "a foreign route holding the destination: only the free one is added");
  t.same(show(foreign.conflicts.map((c) => c.route)), ["172.20.3.0/24 via 10.0.1.200 w3"]);
  t.equal(foreign.del.length, 1, "our stale route beside the foreign one is removed");
  t.same(foreign.replace, [], "and never replaced");
});

t.test("peerOfNode: spec.podCIDRs and InternalIP addresses; bad values become a problem", async (t) => {
  const node = (spec: object, addresses: object[]): unknown => ({ metadata: { name: "w2" }, spec, status: { addresses } });
  const p = peerOfNode(node({ podCIDRs: ["172.20.2.0/24", "fd00::/64"] }, [{ type: "Hostname", address: "w2" }, { type: "InternalIP", address: "10.0.1.167" }, { type: "ExternalIP", address: "1.2.3.4" }]));
  t.same(p?.podCidrs.map(formatCidr), ["172.20.2.0/24", "fd00::/64"]);
  t.same(p?.internalIps.map(formatIp), ["10.0.1.167"]);
  t.equal(p?.problem, undefined);
  t.same(peerOfNode(node({}, []))?.podCidrs, [], "no PodCIDR yet");
  t.match(peerOfNode(node({ podCIDR: "172.20.2.1/24" }, [{ type: "InternalIP", address: "10.0.1.x" }]))?.problem, /host bits set.*; invalid InternalIP "10.0.1.x"/);
  t.equal(peerOfNode({ metadata: {} }), undefined);
});

t.test("parsePeersFile: the documented shape; errors quote the path", async (t) => {
  const peers = parsePeersFile('{"nodes":[{"name":"w2","podCIDRs":["172.20.2.0/24"],"internalIPs":["10.0.1.167"]},{"name":"w3"}]}', "/p.json");
  t.same(peers.map((p) => [p.name, p.podCidrs.map(formatCidr), p.internalIps.map(formatIp)]), [["w2", ["172.20.2.0/24"], ["10.0.1.167"]], ["w3", [], []]]);
  t.throws(() => parsePeersFile("{", "/p.json"), /Cannot parse the peers file "\/p.json"/);
  t.throws(() => parsePeersFile('{"nodes":{}}', "/p.json"), /expected \{"nodes"/);
  t.throws(() => parsePeersFile('{"nodes":[{"name":"a","podCIDRs":"x"}]}', "/p.json"), /Invalid entry 0/);
  t.throws(() => parsePeersFile('{"nodes":[{"name":"a"},{"name":"a"}]}', "/p.json"), /"a" listed twice/);
  t.match(parsePeersFile('{"nodes":[{"name":"a","podCIDRs":["nope"]}]}', "/p.json")[0]?.problem, /Invalid PodCIDR "nope"/);
});
