// The agent and the one iptables codec (native/iptables/codec.ts) on a real nat table holding comments
// with quotes, backslashes, single quotes and unicode: it removes its own stale rule carrying such a
// comment once (deleting it needs the exact argument back, which an escape mismatch would miss on every
// resync), keeps someone else's, and then makes zero writes over N resyncs.

import { join } from "node:path";
import t from "tap";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { natTable, startAgent, tempDir, waitFor } from "./agent-harness.js";

const FOREIGN = `someone's "rule" \\ ünï€ 🐙`;
const STALE = `kubenet: an old rule, it's "quoted" \\ 🐙`;

t.test("nasty comments: one repair, then zero writes over 30 resyncs; a foreign rule is untouched", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t, "node");
  const dir = tempDir(t);
  ns.exec("mkdir", ["-p", join(dir, "net.d")]);
  ns.exec("iptables-nft", ["-t", "nat", "-A", "POSTROUTING", "-o", "eth9", "-m", "comment", "--comment", FOREIGN, "-j", "MASQUERADE"]);
  ns.exec("iptables-nft", ["-t", "nat", "-A", "POSTROUTING", "-s", "10.244.9.0/24", "-m", "comment", "--comment", STALE, "-j", "MASQUERADE"]);
  const foreignLine = natTable(ns).rules.find((r) => r.includes("eth9"));
  const args = [
    "--static-pod-cidr", "10.244.1.0/24", "--cluster-cidr", "10.244.0.0/16", "--cni-conf-dir", join(dir, "net.d"),
    "--ipam-data-dir", join(dir, "ipam"), "--masq-config", join(dir, "ip-masq-agent"), "--resync-interval", "100ms",
  ];
  const agent = startAgent(t, ns, args);
  await waitFor("first sync", () => agent.metric("kubenet_agent_syncs_total", 'result="success"') >= 1, 60_000);
  const restores = agent.metric("kubenet_agent_iptables_restores_total");
  const syncs = agent.metric("kubenet_agent_syncs_total", 'result="success"');
  await waitFor("30 more syncs", () => agent.metric("kubenet_agent_syncs_total", 'result="success"') >= syncs + 30, 120_000);
  t.ok(restores >= 1, "the first sync converged the tables (the stale rule removed)");
  t.equal(agent.metric("kubenet_agent_iptables_restores_total"), restores, "no write in 30 resyncs");
  t.equal(agent.metric("kubenet_agent_sync_errors_total"), 0);
  const rules = natTable(ns).rules;
  t.notOk(rules.some((r) => r.includes("10.244.9.0/24")), "the stale kubenet rule is gone");
  t.equal(rules.find((r) => r.includes("eth9")), foreignLine, "the foreign rule is byte-identical");
});
