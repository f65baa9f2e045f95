// Kernel tests of the agent in static mode: the built executable runs inside a throwaway namespace (its
// "node"); iptables-save, /proc/sys and `ip -j` inside that namespace are the oracles.

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { KERNEL_SKIP, createNetns, type Teardownable, type TestNetns } from "../support/netns.js";
import { AGENT_BIN, natTable, runAgentOnce, startAgent, sysctl, tempDir, waitFor } from "./agent-harness.js";

const JUMP =
  '-A POSTROUTING -s 10.244.1.0/24 -m comment --comment "kubenet: pod traffic to non-local destinations is subject to masquerade rules" -m addrtype ! --dst-type LOCAL -j KUBENET-MASQ';
const CHAIN = [
  '-A KUBENET-MASQ -d 169.254.0.0/16 -m comment --comment "kubenet: link-local destinations are not masqueraded" -j RETURN',
  '-A KUBENET-MASQ -d 10.244.0.0/16 -m comment --comment "kubenet: destinations in nonMasqueradeCIDRs are not masqueraded" -j RETURN',
  '-A KUBENET-MASQ -m comment --comment "kubenet: outbound traffic is masqueraded (must be last in chain)" -j MASQUERADE --random-fully',
];

function staticArgs(dir: string, extra: readonly string[] = []): string[] {
  return [
    "--static-pod-cidr", "10.244.1.0/24", "--cluster-cidr", "10.244.0.0/16", "--cni-conf-dir", join(dir, "net.d"),
    "--ipam-data-dir", join(dir, "ipam"), "--masq-config", join(dir, "ip-masq-agent"), ...extra,
  ];
}

function prepare(t: Teardownable): { ns: TestNetns; dir: string } {
  const ns = createNetns(t, "node");
  const dir = tempDir(t);
  ns.exec("mkdir", ["-p", join(dir, "net.d")]);
  // Someone else's rule in the same table must survive everything the agent does.
  ns.exec("iptables-nft", ["-t", "nat", "-A", "POSTROUTING", "-o", "eth9", "-j", "MASQUERADE"]);
  return { ns, dir };
}

t.test("static mode converges a fresh namespace; --once twice writes nothing the second time", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, dir } = prepare(t);
  t.equal(sysctl(ns, "net.ipv4.ip_forward"), "0");
  const first = runAgentOnce(ns, staticArgs(dir));
  t.equal(first.code, 0, first.stderr);
  t.ok(first.report.ok);
  t.same(first.report.writes, { iptablesRestores: 2, iptablesRules: 7, sysctls: 1, conflist: 1, bridge: 0, forward: 1, routes: 0 });
  const nat = natTable(ns);
  t.same(nat.rules, [JUMP, "-A POSTROUTING -o eth9 -j MASQUERADE", ...CHAIN], "jump inserted first, others' rule kept, chain in order");
  t.equal(sysctl(ns, "net.ipv4.ip_forward"), "1");
  t.equal(sysctl(ns, "net.bridge.bridge-nf-call-iptables"), "1");
  const conf = JSON.parse(readFileSync(join(dir, "net.d", "05-kubenet.conflist"), "utf8")) as { plugins: { type: string; ipam: { ranges: unknown } }[] };
  t.equal(conf.plugins[0]?.type, "kubenet");
  t.same(conf.plugins[0]?.ipam.ranges, [[{ subnet: "10.244.1.0/24", gateway: "10.244.1.1" }]]);
  const second = runAgentOnce(ns, staticArgs(dir));
  t.same(second.report.writes, { iptablesRestores: 0, iptablesRules: 0, sysctls: 0, conflist: 0, bridge: 0, forward: 0, routes: 0 }, "second run: no writes");
  t.same(natTable(ns).rules, nat.rules, "rules unchanged");
});

t.test("a running agent repairs a flushed chain, a deleted jump and a reset sysctl at the next resync", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, dir } = prepare(t);
  const agent = startAgent(t, ns, staticArgs(dir, ["--resync-interval", "300ms"]));
  await waitFor("convergence", () => natTable(ns).rules.includes(JUMP) && agent.healthz().status === 200);
  const converged = natTable(ns).rules;

  ns.exec("iptables-nft", ["-t", "nat", "-F", "KUBENET-MASQ"]);
  const chainMs = await waitFor("chain refilled", () => natTable(ns).rules.filter((r) => r.startsWith("-A KUBENET-MASQ")).length === 3);
  ns.exec("iptables-nft", ["-t", "nat", "-D", "POSTROUTING", "1"]);
  t.notOk(natTable(ns).rules.includes(JUMP), "jump deleted");
  const jumpMs = await waitFor("jump back", () => natTable(ns).rules.includes(JUMP));
  ns.exec("sh", ["-c", "echo 0 > /proc/sys/net/ipv4/ip_forward; echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables"]);
  const sysctlMs = await waitFor("sysctls back", () => sysctl(ns, "net.ipv4.ip_forward") === "1" && sysctl(ns, "net.bridge.bridge-nf-call-iptables") === "1");
  t.same(natTable(ns).rules, converged, "same rules as before, no duplicates, others' rule intact");
  // Repaired by the resync loop (not by the test's own writes): how fast is informational, a loaded machine decides.
  t.comment(`repaired after ${chainMs.toFixed(0)}, ${jumpMs.toFixed(0)}, ${sysctlMs.toFixed(0)} ms`);
  t.equal(agent.metric("kubenet_agent_sysctl_writes_total", 'name="net.ipv4.ip_forward"'), 2);
  t.equal(agent.metric("kubenet_agent_iptables_restores_total", 'family="4"'), 4, "initial (nat and FORWARD chain) + chain + jump");
});

t.test("N resyncs of an unchanged node make zero iptables and sysctl writes", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, dir } = prepare(t);
  const agent = startAgent(t, ns, staticArgs(dir, ["--resync-interval", "100ms"]));
  await waitFor("first sync", () => agent.metric("kubenet_agent_syncs_total", 'result="success"') >= 1);
  const before = {
    syncs: agent.metric("kubenet_agent_syncs_total", 'result="success"'),
    restores: agent.metric("kubenet_agent_iptables_restores_total"),
    sysctls: agent.metric("kubenet_agent_sysctl_writes_total"),
    conflist: agent.metric("kubenet_agent_conflist_writes_total"),
  };
  await waitFor("30 more syncs", () => agent.metric("kubenet_agent_syncs_total", 'result="success"') >= before.syncs + 30);
  t.equal(agent.metric("kubenet_agent_iptables_restores_total"), before.restores, "no iptables-restore");
  t.equal(agent.metric("kubenet_agent_sysctl_writes_total"), before.sysctls, "no sysctl write");
  t.equal(agent.metric("kubenet_agent_conflist_writes_total"), before.conflist, "no conflist write");
  t.equal(before.restores, 2, "the masquerade chain and the FORWARD chain");
  t.equal(agent.metric("kubenet_agent_sync_errors_total"), 0);
  t.match(agent.metrics(), /kubenet_agent_pod_cidr_info\{cidr="10.244.1.0\/24",family="4"\} 1/);
  t.match(agent.metrics(), /kubenet_agent_iptables_info\{mode="nft",random_fully="true"\} 1/);
});

t.test("a changed masquerade config file updates the rules with no duplicate; SIGTERM leaves them", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, dir } = prepare(t);
  const agent = startAgent(t, ns, staticArgs(dir, ["--resync-interval", "200ms"]));
  await waitFor("convergence", () => natTable(ns).rules.includes(JUMP));
  writeFileSync(join(dir, "ip-masq-agent"), "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 192.168.0.0/16\nmasqLinkLocal: true\n");
  await waitFor("new rules", () => natTable(ns).rules.some((r) => r.includes("192.168.0.0/16")));
  t.same(
    natTable(ns).rules.filter((r) => r.startsWith("-A KUBENET-MASQ")),
    [
      '-A KUBENET-MASQ -d 10.0.0.0/8 -m comment --comment "kubenet: destinations in nonMasqueradeCIDRs are not masqueraded" -j RETURN',
      '-A KUBENET-MASQ -d 192.168.0.0/16 -m comment --comment "kubenet: destinations in nonMasqueradeCIDRs are not masqueraded" -j RETURN',
      CHAIN[2],
    ],
  );
  t.equal(natTable(ns).rules.filter((r) => r.includes("-j KUBENET-MASQ")).length, 1, "one jump");
  writeFileSync(join(dir, "ip-masq-agent"), "nonMasqueradeCIDRs: [10.0.0.0/8, 'not-a-cidr']\n");
  await waitFor("config error reported", () => agent.logs().includes("Invalid masquerade config"));
  // An error alone never fails /healthz: it follows the age of the last good sync (a fixed "200 right after
  // the error" failed at load 40, when the poll above took longer than the 0.6 s max age).
  const h = agent.healthz() as { status: number; body: { status: string; lastSuccessfulSync: string | null; ageSeconds: number; maxAgeSeconds: number } };
  t.not(h.body.lastSuccessfulSync, null, "the last good sync is kept");
  const fresh = h.body.ageSeconds <= h.body.maxAgeSeconds;
  t.same([h.status, h.body.status], fresh ? [200, "ok"] : [503, "stale"], `healthz follows the age (${h.body.ageSeconds} s of ${h.body.maxAgeSeconds} s)`);
  t.same(natTable(ns).rules.filter((r) => r.startsWith("-A KUBENET-MASQ")).length, 3, "rules left as they were");
  const rules = natTable(ns).rules;
  const exit = await agent.stop();
  t.same(exit, { code: 0, signal: null }, "exits 0 on SIGTERM");
  t.same(natTable(ns).rules, rules, "datapath left in place");
});

t.test("healthz: 503 while no PodCIDR is assigned (nothing written), 200 once the file assigns one", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, dir } = prepare(t);
  const file = join(dir, "podcidr");
  const agent = startAgent(t, ns, ["--pod-cidr-file", file, "--cni-conf-dir", join(dir, "net.d"), "--masq-config", "", "--resync-interval", "200ms"]);
  await waitFor("not-ready sync", () => agent.metric("kubenet_agent_syncs_total", 'result="not_ready"') >= 2);
  t.same(agent.healthz(), { status: 503, body: { status: "never-synced", lastSuccessfulSync: null, ageSeconds: null, maxAgeSeconds: 0.6, ready: false, podCIDRs: [] } });
  t.notOk(existsSync(join(dir, "net.d", "05-kubenet.conflist")));
  t.same(natTable(ns).chains.filter((c) => c === "KUBENET-MASQ"), []);
  t.equal(sysctl(ns, "net.ipv4.ip_forward"), "0");
  writeFileSync(file, "10.244.1.0/24\n");
  await waitFor("ready", () => agent.healthz().status === 200);
  t.ok(existsSync(join(dir, "net.d", "05-kubenet.conflist")));
});

t.test("--iptables-mode legacy writes only legacy tables; auto follows the kubelet's hint chain", { skip: KERNEL_SKIP }, async (t) => {
  const a = prepare(t);
  const r = runAgentOnce(a.ns, staticArgs(a.dir, ["--iptables-mode", "legacy"]));
  t.equal(r.code, 0, r.stderr);
  t.ok(natTable(a.ns, { mode: "legacy" }).rules.includes(JUMP), "legacy has the jump");
  t.notOk(natTable(a.ns, { mode: "nft" }).chains.includes("KUBENET-MASQ"), "nft untouched");

  const b = createNetns(t, "node");
  const dir = tempDir(t);
  b.exec("iptables-legacy", ["-t", "mangle", "-N", "KUBE-IPTABLES-HINT"]);
  const auto = runAgentOnce(b, staticArgs(dir));
  t.equal(auto.code, 0, auto.stderr);
  t.match(auto.stderr, /"mode":"legacy","reason":"kubelet hint chain found in the legacy mangle table"/);
  t.ok(natTable(b, { mode: "legacy" }).rules.includes(JUMP));
  t.same(natTable(b, { mode: "nft" }).rules, []);
});

t.test("cleanup removes the jump, the chain and the conflist; leaves others' rules and the sysctls", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, dir } = prepare(t);
  t.equal(runAgentOnce(ns, staticArgs(dir)).code, 0);
  const r = ns.run(process.execPath, [AGENT_BIN, "cleanup", "--cni-conf-dir", join(dir, "net.d")]);
  t.equal(r.status, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { removed: ["KUBENET-MASQ (IPv4, nft)", "KUBENET-FORWARD (IPv4, nft)", `${join(dir, "net.d")}/05-kubenet.conflist`], errors: [] });
  t.same(natTable(ns), { chains: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"], rules: ["-A POSTROUTING -o eth9 -j MASQUERADE"] });
  t.notOk(existsSync(join(dir, "net.d", "05-kubenet.conflist")));
  t.equal(sysctl(ns, "net.ipv4.ip_forward"), "1");
  const again = ns.run(process.execPath, [AGENT_BIN, "cleanup", "--cni-conf-dir", join(dir, "net.d")]);
  t.same(JSON.parse(again.stdout), { removed: [], errors: [] }, "idempotent");
  t.same(natTable(ns, { mode: "legacy" }).chains, [], "no legacy nat table created by the search");
});

t.test("--pod-cidr-file: a moved dual-stack PodCIDR moves cbr0's gateways (v4 and v6) and MTU, then the conflist", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, dir } = prepare(t);
  const file = join(dir, "podcidr");
  writeFileSync(file, '{"podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"]}');
  // A bridge left from the old PodCIDR (node re-joined with a new range), with a foreign MTU.
  ns.exec("ip", ["link", "add", "cbr0", "mtu", "1500", "type", "bridge"]);
  ns.exec("ip", ["addr", "add", "10.244.1.1/24", "dev", "cbr0"]);
  ns.exec("ip", ["addr", "add", "fd00:10:244:1::1/64", "dev", "cbr0", "nodad"]);
  ns.exec("ip", ["link", "set", "cbr0", "up"]);
  const agent = startAgent(t, ns, ["--pod-cidr-file", file, "--cni-conf-dir", join(dir, "net.d"), "--masq-config", "", "--mtu", "1450", "--resync-interval", "200ms"]);
  await waitFor("first sync", () => agent.healthz().status === 200);
  const globalAddrs = (): string[] =>
    ((ns.ipJson(["addr", "show", "dev", "cbr0"]) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[])[0]?.addr_info ?? [])
      .filter((a) => a.scope === "global")
      .map((a) => `${a.local}/${a.prefixlen}`)
      .sort();
  t.same(globalAddrs(), ["10.244.1.1/24", "fd00:10:244:1::1/64"], "matching addresses kept");
  t.equal((ns.ipJson(["link", "show", "dev", "cbr0"]) as { mtu: number }[])[0]?.mtu, 1450, "--mtu applied to the existing bridge");
  writeFileSync(file, "10.244.2.0/24,fd00:10:244:2::/64\n");
  await waitFor("bridge moved", () => globalAddrs().join() === "10.244.2.1/24,fd00:10:244:2::1/64");
  await waitFor("conflist follows", () => readFileSync(join(dir, "net.d", "05-kubenet.conflist"), "utf8").includes('"subnet": "fd00:10:244:2::/64"'));
  t.equal(agent.metric("kubenet_agent_bridge_changes_total"), 5, "mtu + 2 removed + 2 added");
  t.same(
    natTable(ns, { family: 6 }).rules.filter((r) => r.includes("-j KUBENET-MASQ")).map((r) => r.split(" ")[3]),
    ["fd00:10:244:2::/64"],
    "v6 jump follows",
  );
});
