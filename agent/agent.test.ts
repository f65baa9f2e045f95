// The whole sync in-process against fakes (test/agent/fakes.ts): convergence, zero writes when nothing
// changed, repairs, config reloads, PodCIDR moves, health. The same scenarios run against the kernel in
// test/agent/static-mode.test.ts.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { parseCidr } from "../core/ip-parse.js";
import { createFakeHost, fakeLink, type FakeHost } from "../test/agent/fakes.js";
import { Agent } from "./agent.js";
import { DEFAULTS, type AgentConfig } from "./config.js";
import { nullLogger } from "./log.js";
import { parsePodCidrs, type PodCidrs, type PodCidrSource } from "./sources/pod-cidrs.js";

function setup(t: { teardown(fn: () => void): void }, options: { cidrs?: PodCidrs | undefined; host?: FakeHost; config?: Partial<AgentConfig> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "kt-agent-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const state = { cidrs: "cidrs" in options ? options.cidrs : parsePodCidrs(["10.244.1.0/24"]), now: 1_000_000 };
  const source: PodCidrSource = {
    kind: "static",
    run: async () => undefined,
    synced: async () => undefined,
    current: async () => state.cidrs,
  };
  const host = options.host ?? createFakeHost();
  const config: Omit<AgentConfig, "source"> = {
    ...DEFAULTS,
    clusterCidrs: [parseCidr("10.244.0.0/16")],
    cniConfDir: dir,
    mtu: undefined,
    masqConfigPath: join(dir, "ip-masq-agent"),
    iptablesMode: "auto",
    randomFully: "auto",
    healthzMaxAgeMs: undefined,
    ...options.config,
  };
  const agent = new Agent({ config, source, host, log: nullLogger, now: () => state.now });
  return { agent, host, dir, state, conflist: join(dir, "05-kubenet.conflist"), masqPath: join(dir, "ip-masq-agent") };
}

const jumps = (host: FakeHost, f: 4 | 6 = 4): string[][] => (host.nat[f].chains.get("POSTROUTING") ?? []).filter((r) => r.includes("KUBENET-MASQ"));

t.test("Agent.sync: converges a fresh node, then N syncs of an unchanged node write nothing", async (t) => {
  const { agent, host, conflist } = setup(t);
  const first = await agent.sync();
  t.ok(first.ok, "first sync ok");
  t.same(first.writes, { iptablesRestores: 2, iptablesRules: 7, sysctls: 1, conflist: 1, bridge: 0, forward: 1, routes: 0 });
  t.same(host.sysctlWrites, ["net.ipv4.ip_forward=1"]);
  t.equal(jumps(host).length, 1);
  t.same(host.nat[4].chains.get("KUBENET-MASQ")?.map((r) => r.at(-1) === "--random-fully" ? "MASQUERADE" : r[1]), ["169.254.0.0/16", "10.244.0.0/16", "MASQUERADE"]);
  t.match(readFileSync(conflist, "utf8"), /"subnet": "10.244.1.0\/24"/);
  for (let i = 0; i < 20; i++) {
    const r = await agent.sync();
    t.same(r.writes, { iptablesRestores: 0, iptablesRules: 0, sysctls: 0, conflist: 0, bridge: 0, forward: 0, routes: 0 }, `sync ${i + 2}: no writes`);
  }
  t.equal(host.nat[4].restores, 1, "one iptables-restore in 21 syncs");
  t.equal(host.filter[4].restores, 1, "one FORWARD chain restore in 21 syncs");
  t.equal(host.nat[6].saves, 0, "IPv6 untouched on a v4-only node");
  t.match(agent.renderMetrics(), /kubenet_agent_iptables_restores_total\{family="4"\} 2\n/);
  t.match(agent.renderMetrics(), /kubenet_agent_syncs_total\{result="success"\} 21\n/);
});

t.test("Agent.sync: no PodCIDR => not ready, nothing written, /healthz 503", async (t) => {
  const { agent, host, conflist } = setup(t, { cidrs: undefined });
  const r = await agent.sync();
  t.equal(r.ready, false);
  t.equal(r.ok, false);
  t.equal(host.nat[4].restores + host.nat[4].saves, 0);
  t.same(host.sysctlWrites, []);
  t.notOk(existsSync(conflist));
  t.equal(agent.health().status, 503);
  t.equal(agent.health().body.status, "never-synced");
  t.match(agent.renderMetrics(), /kubenet_agent_syncs_total\{result="not_ready"\} 1/);
});

t.test("Agent.sync: repairs a flushed chain, a deleted jump and a reset sysctl with one write each", async (t) => {
  const { agent, host } = setup(t);
  await agent.sync();
  host.nat[4].chains.set("KUBENET-MASQ", []);
  let r = await agent.sync();
  t.same(r.steps.masq?.details, ["IPv4: rewrote chain (3 rules)"]);
  t.equal(jumps(host).length, 1, "no duplicate jump");
  host.nat[4].chains.set("POSTROUTING", []);
  r = await agent.sync();
  t.same(r.steps.masq?.details, ["IPv4: rewrote jump (4 rules)"]);
  t.equal(jumps(host).length, 1);
  host.sysctls.set("net.ipv4.ip_forward", "0");
  host.nat[4].chains.get("POSTROUTING")?.push([...(jumps(host)[0] ?? [])]);
  r = await agent.sync();
  t.equal(r.writes.sysctls, 1);
  t.equal(jumps(host).length, 1, "a duplicated jump is reduced to one");
  t.equal((await agent.sync()).writes.iptablesRestores, 0);
});

t.test("Agent.sync: a changed masquerade config file updates the rules (no duplicates); an invalid one leaves them", async (t) => {
  const { agent, host, masqPath } = setup(t);
  await agent.sync();
  writeFileSync(masqPath, "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 192.168.0.0/16\nmasqLinkLocal: true\nresyncInterval: 5s\n");
  let r = await agent.sync();
  t.equal(r.writes.iptablesRestores, 1);
  t.same(host.nat[4].chains.get("KUBENET-MASQ")?.map((x) => x[1]), ["10.0.0.0/8", "192.168.0.0/16", "comment"]);
  t.equal(agent.resyncIntervalMs(), 5000, "resyncInterval from the file");
  t.equal((await agent.sync()).writes.iptablesRestores, 0);
  writeFileSync(masqPath, "nonMasqueradeCIDRs: [10.0.0.1/8]\n");
  r = await agent.sync();
  t.equal(r.ok, false);
  t.match(r.steps.masq?.error, /Invalid masquerade config .*not aligned/);
  t.equal(r.steps.conflist?.ok, true, "other steps still run");
  t.same(host.nat[4].chains.get("KUBENET-MASQ")?.map((x) => x[1]), ["10.0.0.0/8", "192.168.0.0/16", "comment"], "old rules stay");
  rmSync(masqPath);
  r = await agent.sync();
  t.ok(r.ok, "file removed => defaults again");
  t.same(host.nat[4].chains.get("KUBENET-MASQ")?.map((x) => x[1]), ["169.254.0.0/16", "10.244.0.0/16", "comment"]);
  t.equal(agent.resyncIntervalMs(), DEFAULTS.resyncIntervalMs);
});

t.test("Agent.sync: a PodCIDR change moves cbr0's gateway before the conflist, and replaces the jump", async (t) => {
  const host = createFakeHost({ links: [fakeLink(1, "lo", 65536, { flags: 9 }), fakeLink(2, "eth0", 9000), fakeLink(3, "cbr0", 1500, { kind: "bridge" })] });
  const { agent, state, conflist } = setup(t, { host });
  let r = await agent.sync();
  t.same(host.rtnlOps, ["addr add 10.244.1.1/24", "mtu 9000"], "existing bridge gets the gateway and the detected MTU");
  t.equal(r.mtu, 9000);
  state.cidrs = parsePodCidrs(["10.244.7.0/24"]);
  r = await agent.sync();
  t.same(host.rtnlOps.slice(2), ["addr del 10.244.1.1/24", "addr add 10.244.7.1/24"]);
  t.same(r.steps.bridge?.details, ["removed 10.244.1.1/24", "added 10.244.7.1/24"]);
  t.match(readFileSync(conflist, "utf8"), /"gateway": "10.244.7.1"/);
  t.same(jumps(host).map((j) => j[1]), ["10.244.7.0/24"], "old jump deleted, new one in place");
  t.match(agent.renderMetrics(), /kubenet_agent_pod_cidr_info\{cidr="10.244.7.0\/24",family="4"\} 1\n/);
  t.notMatch(agent.renderMetrics(), /10.244.1.0\/24/);
});

t.test("Agent.sync: dual-stack writes both tables and the v6 sysctls; a failing restore fails only that step", async (t) => {
  const host = createFakeHost({
    sysctls: { "net.bridge.bridge-nf-call-iptables": "1", "net.bridge.bridge-nf-call-ip6tables": "0", "net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "0" },
  });
  const { agent } = setup(t, { host, cidrs: parsePodCidrs(["10.244.1.0/24", "fd00:10:244:1::/64"]) });
  host.nat[6].failNextRestore = new Error("ip6tables-restore: line 3 failed");
  let r = await agent.sync();
  t.equal(r.ok, false);
  t.match(r.steps.masq?.error, /IPv6 masquerade rules: ip6tables-restore: line 3 failed/);
  t.same(host.sysctlWrites, ["net.bridge.bridge-nf-call-ip6tables=1", "net.ipv6.conf.all.forwarding=1"]);
  r = await agent.sync();
  t.ok(r.ok);
  t.same(jumps(host, 6).map((j) => j[1]), ["fd00:10:244:1::/64"]);
  t.same(host.nat[6].chains.get("KUBENET-MASQ")?.map((x) => x[1]), ["fe80::/10", "fd00:10:244:1::/64", "comment"]);
});

t.test("Agent.health: 200 while fresh, 503 when stale (3 x resync interval by default)", async (t) => {
  const { agent, state } = setup(t, { config: { resyncIntervalMs: 1000 } });
  t.equal(agent.health().status, 503);
  await agent.sync();
  t.equal(agent.health().status, 200);
  t.equal(agent.health().body.status, "ok");
  state.now += 3000;
  t.equal(agent.health().status, 200);
  state.now += 1;
  t.equal(agent.health().status, 503);
  t.equal(agent.health().body.status, "stale");
});

t.test("Agent.run: stops on abort; a trigger runs a sync at once", async (t) => {
  const { agent, host } = setup(t, { config: { resyncIntervalMs: 60_000 } });
  const ac = new AbortController();
  const running = agent.run(ac.signal);
  for (let i = 0; i < 100 && host.nat[4].restores === 0; i++) await new Promise((r) => setTimeout(r, 5));
  t.equal(host.nat[4].restores, 1, "first sync at start");
  host.nat[4].chains.set("KUBENET-MASQ", []);
  agent.trigger();
  for (let i = 0; i < 100 && host.nat[4].restores === 1; i++) await new Promise((r) => setTimeout(r, 5));
  t.equal(host.nat[4].restores, 2, "triggered sync repaired the chain without waiting a minute");
  ac.abort();
  await running;
  t.pass("run returned after abort");
});
