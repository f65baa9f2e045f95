// The agent's host-gw and FORWARD steps in-process against fakes (test/agent/fakes.ts): routes follow the
// peers, foreign routes stay, off-link peers reach /healthz and /metrics, converged syncs write nothing.
// The kernel side: test/agent/routes.test.ts and test/agent/hostgw-cluster.test.ts.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { formatCidr, formatIp } from "../core/ip.js";
import { parseCidr, parseIp } from "../core/ip-parse.js";
import { createFakeHost } from "../test/agent/fakes.js";
import { Agent } from "./agent.js";
import { DEFAULTS, type AgentConfig } from "./config.js";
import { nullLogger } from "./log.js";
import { parsePeersFile, type Peer } from "./routes/peers.js";
import type { PeerSource } from "./sources/peers.js";
import { parsePodCidrs } from "./sources/pod-cidrs.js";

function setup(t: { teardown(fn: () => void): void }, config: Partial<AgentConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "kt-agent-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const host = createFakeHost();
  host.addrs.push({ index: 2, family: 4, address: parseCidr("10.0.1.71/24"), scope: 0, flags: 0, label: undefined, attrs: [] });
  const state: { peers: Peer[] } = { peers: [] };
  const peers: PeerSource = { run: async () => undefined, synced: async () => undefined, current: async () => state.peers };
  const agent = new Agent({
    config: {
      ...DEFAULTS, clusterCidrs: [parseCidr("172.20.0.0/16")], cniConfDir: dir, mtu: undefined, masqConfigPath: undefined,
      iptablesMode: "auto", randomFully: "auto", healthzMaxAgeMs: undefined, routes: "host-gw", nodeName: "w1", ...config,
    },
    source: { kind: "static", run: async () => undefined, synced: async () => undefined, current: async () => parsePodCidrs(["172.20.1.0/24"]) },
    peers,
    host,
    log: nullLogger,
  });
  const setPeers = (json: object): void => void (state.peers = parsePeersFile(JSON.stringify({ nodes: json }), "test"));
  const table = (): string[] => host.routes.map((r) => `${r.dst === undefined ? "default" : formatCidr(r.dst)} via ${r.gateway === undefined ? "-" : formatIp(r.gateway)} proto ${r.protocol}`);
  return { agent, host, setPeers, table };
}

t.test("host-gw: routes follow the peers; converged syncs write nothing; foreign routes are never touched", async (t) => {
  const { agent, host, setPeers, table } = setup(t);
  host.routes.push({ family: 4, dst: parseCidr("172.20.9.0/24"), gateway: parseIp("10.0.1.1"), oif: undefined, src: undefined, table: 254, protocol: 4, scope: 0, type: 1, priority: 0, mtu: undefined, advmss: undefined, attrs: [] });
  setPeers([
    { name: "w1", podCIDRs: ["172.20.1.0/24"], internalIPs: ["10.0.1.71"] },
    { name: "w2", podCIDRs: ["172.20.2.0/24"], internalIPs: ["10.0.1.167"] },
    { name: "w9", podCIDRs: ["172.20.9.0/24"], internalIPs: ["10.0.1.9"] },
    { name: "far", podCIDRs: ["172.20.5.0/24"], internalIPs: ["192.168.7.5"] },
  ]);
  const first = await agent.sync();
  t.ok(first.ok, "ok although a peer is off-link and one PodCIDR is held by a foreign route");
  t.equal(first.writes.routes, 1);
  t.same(table(), ["172.20.9.0/24 via 10.0.1.1 proto 4", "172.20.2.0/24 via 10.0.1.167 proto 107"]);
  const health = agent.health().body.routes;
  t.same(health?.unrouted.map((u) => [u.peer, u.reason]), [["far", "off-link"]]);
  t.match(health?.conflicts, [/172\.20\.9\.0\/24 via 10\.0\.1\.9 \(w9\): held by a foreign route \(protocol 4 via 10\.0\.1\.1\)/]);
  t.match(agent.renderMetrics(), /kubenet_agent_hostgw_peers_unrouted\{reason="off-link"\} 1\n/);
  t.match(agent.renderMetrics(), /kubenet_agent_hostgw_routes 1\n/);

  const ops = host.rtnlOps.length;
  for (let i = 0; i < 5; i++) t.equal((await agent.sync()).writes.routes, 0, "converged: no route write");
  t.equal(host.rtnlOps.length, ops, "no rtnetlink write at all");

  setPeers([{ name: "w2", podCIDRs: ["172.20.2.0/24"], internalIPs: ["10.0.1.168"] }, { name: "w3", podCIDRs: ["172.20.3.0/24"], internalIPs: ["10.0.1.200"] }]);
  const moved = await agent.sync();
  t.same(moved.steps.routes?.details, ["added 172.20.3.0/24 via 10.0.1.200 (w3)", "replaced 172.20.2.0/24 via 10.0.1.168 (w2)"]);
  setPeers([{ name: "w3", podCIDRs: ["172.20.3.0/24"], internalIPs: ["10.0.1.200"] }]);
  t.same((await agent.sync()).steps.routes?.details, ["deleted 172.20.2.0/24 via 10.0.1.168"]);
  t.same(table(), ["172.20.9.0/24 via 10.0.1.1 proto 4", "172.20.3.0/24 via 10.0.1.200 proto 107"], "the foreign route is still there");
});

t.test("host-gw: an unreadable peer list fails the step and leaves the routes as they are", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kt-agent-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { agent, setPeers, table } = setup(t);
  setPeers([{ name: "w2", podCIDRs: ["172.20.2.0/24"], internalIPs: ["10.0.1.167"] }]);
  await agent.sync();
  const broken = new Agent({
    config: { ...DEFAULTS, clusterCidrs: [], cniConfDir: dir, mtu: undefined, masqConfigPath: undefined, iptablesMode: "auto", randomFully: "auto", healthzMaxAgeMs: undefined, routes: "host-gw" },
    source: { kind: "static", run: async () => undefined, synced: async () => undefined, current: async () => parsePodCidrs(["172.20.1.0/24"]) },
    peers: { run: async () => undefined, synced: async () => undefined, current: () => Promise.reject(new Error("Cannot read the peers file")) },
    host: createFakeHost(),
    log: nullLogger,
  });
  const r = await broken.sync();
  t.notOk(r.ok);
  t.match(r.steps.routes?.error, /Cannot read the peers file/);
  t.same(table(), ["172.20.2.0/24 via 10.0.1.167 proto 107"]);
});

t.test("FORWARD acceptance: our chain from the top of FORWARD, zero writes when in place, repaired, off = untouched", async (t) => {
  const { agent, host } = setup(t, { routes: "off" });
  host.filter[4].chains.set("FORWARD", [["-j", "DOCKER-USER"]]);
  const first = await agent.sync();
  t.equal(first.writes.forward, 1);
  t.same(host.filter[4].chains.get("FORWARD")?.map((r) => r.at(-1)), ["KUBENET-FORWARD", "DOCKER-USER"], "jump inserted first");
  t.same(host.filter[4].chains.get("KUBENET-FORWARD")?.map((r) => `${r[0]} ${r[1]} ${r.at(-1)}`), ["-s 172.20.0.0/16 ACCEPT", "-d 172.20.0.0/16 ACCEPT"]);
  t.equal((await agent.sync()).writes.forward, 0, "in place: no write");
  host.filter[4].chains.set("KUBENET-FORWARD", []);
  t.equal((await agent.sync()).writes.forward, 1, "emptied chain refilled");
  t.equal(host.filter[4].chains.get("FORWARD")?.length, 2, "no duplicate jump");
  t.equal(host.filter[6].restores, 0, "no IPv6 PodCIDR: ip6tables untouched");

  const off = setup(t, { routes: "off", forwardAccept: "off" });
  await off.agent.sync();
  t.equal(off.host.filter[4].restores, 0, "--forward-accept off writes nothing");
});
