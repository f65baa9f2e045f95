// Kubernetes mode end to end: the built agent (with @kubernetes/client-node, as on a real node) runs in a
// throwaway "node" namespace, connected by a veth to the test's sandbox namespace where the fake API server
// (fake-apiserver.ts) listens. The agent reaches it through an ordinary kubeconfig (http://<addr>:<port>).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { KERNEL_SKIP, createNetns, type Teardownable, type TestNetns } from "../support/netns.js";
import { natTable, startAgent, sysctl, tempDir, waitFor, type RunningAgent } from "./agent-harness.js";
import { FakeApiServer, kubeconfigFor, linkNodeToApi } from "./fake-apiserver.js";

interface Setup {
  readonly ns: TestNetns;
  readonly dir: string;
  readonly api: FakeApiServer;
  readonly conflist: string;
  readonly agent: RunningAgent;
}

/** node netns <-veth-> sandbox netns (API server on the sandbox end of a random link-local /30). */
async function setup(t: Teardownable, prepareServer: (api: FakeApiServer) => void): Promise<Setup> {
  const ns = createNetns(t, "node");
  const dir = tempDir(t);
  const apiAddr = linkNodeToApi(t, ns);

  const api = new FakeApiServer();
  prepareServer(api);
  const addr = await api.listen(apiAddr);
  t.teardown(() => api.close());
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigFor(addr));
  const agent = startAgent(t, ns, [
    "--kubeconfig", kubeconfig, "--node-name", "node-1", "--cluster-cidr", "10.244.0.0/16,fd00:10:244::/56",
    "--cni-conf-dir", join(dir, "net.d"), "--ipam-data-dir", join(dir, "ipam"), "--masq-config", "",
    // A long resync: every reaction below comes from a watch event, not from the periodic sync.
    "--resync-interval", "60s",
  ]);
  return { ns, dir, api, conflist: join(dir, "net.d", "05-kubenet.conflist"), agent };
}

const watches = (api: FakeApiServer): { rv: string; status: number }[] =>
  api.requests.filter((r) => r.query["watch"] !== undefined).map((r) => ({ rv: r.query["resourceVersion"] ?? "", status: r.status }));
const lists = (api: FakeApiServer): number => api.requests.filter((r) => r.query["watch"] === undefined).length;
const subnets = (conflist: string): string[] =>
  (JSON.parse(readFileSync(conflist, "utf8")) as { plugins: { ipam: { ranges: { subnet: string }[][] } }[] }).plugins[0]?.ipam.ranges.map((r) => r[0]?.subnet ?? "") ?? [];

/** Polls the file every millisecond: the time from the event on the wire to the config on disk. */
async function msUntil(cond: () => boolean, since: () => number, timeoutMs = 90_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (cond()) return performance.now() - since();
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error("timed out");
}

function cbr0Addresses(ns: TestNetns): string[] {
  const j = ns.ipJson(["addr", "show", "dev", "cbr0"]) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return (j[0]?.addr_info ?? []).filter((a) => a.scope !== "link").map((a) => `${a.local}/${a.prefixlen}`);
}

t.test("Kubernetes mode: not ready until a PodCIDR arrives by watch; changes, stream ends, 410 and API errors", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, api, conflist, agent } = await setup(t, (api) => api.setNode("node-1", {}));
  await waitFor("list + watch", () => lists(api) === 1 && api.openWatches === 1);
  // The sync after the list has run (not a sleep: on a loaded machine 500 ms may not be enough for it).
  await waitFor("not-ready sync", () => agent.metric("kubenet_agent_syncs_total", 'result="not_ready"') >= 1);
  t.notOk(existsSync(conflist), "no PodCIDR: no conflist");
  t.notOk(natTable(ns).chains.includes("KUBENET-MASQ"), "no PodCIDR: no rules");
  t.equal(sysctl(ns, "net.ipv4.ip_forward"), "0", "no PodCIDR: no sysctl");
  t.equal(agent.healthz().status, 503);
  t.equal(agent.metric("kubenet_agent_syncs_total", 'result="not_ready"'), 1);

  // 1. The node IPAM controller assigns a PodCIDR: one MODIFIED event.
  api.patchPodCidrs("node-1", ["10.244.5.0/24"]);
  const assignMs = await msUntil(() => existsSync(conflist), () => api.lastEventSentAt);
  // The watch event, not the 60 s resync, writes the file: anything well under 60 s proves it (the latency
  // itself is informational: a loaded machine decides it).
  t.ok(assignMs < 30_000, `config on disk ${assignMs.toFixed(1)} ms after the watch event, long before a resync`);
  t.comment(`PodCIDR watch event -> conflist on disk: ${assignMs.toFixed(1)} ms`);
  t.same(subnets(conflist), ["10.244.5.0/24"]);
  await waitFor("healthy", () => agent.healthz().status === 200);
  t.equal(sysctl(ns, "net.ipv4.ip_forward"), "1");

  // 2. The PodCIDR changes (node re-registered): cbr0's gateway and the config follow.
  ns.exec("ip", ["link", "add", "cbr0", "type", "bridge"]);
  ns.exec("ip", ["addr", "add", "10.244.5.1/24", "dev", "cbr0"]);
  ns.exec("ip", ["link", "set", "cbr0", "up"]);
  api.patchPodCidrs("node-1", ["10.244.6.0/24"]);
  const changeMs = await msUntil(() => subnets(conflist)[0] === "10.244.6.0/24", () => api.lastEventSentAt);
  t.comment(`PodCIDR change -> new conflist: ${changeMs.toFixed(1)} ms`);
  t.same(cbr0Addresses(ns), ["10.244.6.1/24"], "bridge moved to the new gateway, old address gone");
  t.same(natTable(ns).rules.filter((r) => r.includes("-j KUBENET-MASQ")).map((r) => r.split(" ")[3]), ["10.244.6.0/24"], "one jump, new PodCIDR");
  const cbr0 = (ns.ipJson(["link", "show", "dev", "cbr0"]) as { mtu: number }[])[0];
  t.equal(cbr0?.mtu, (JSON.parse(readFileSync(conflist, "utf8")) as { plugins: { mtu: number }[] }).plugins[0]?.mtu, "cbr0 MTU = conflist MTU");

  // 3. The server ends the stream: the agent resumes from the last resourceVersion, without relisting.
  const rvBefore = api.resourceVersion;
  const listsBefore = lists(api);
  const watchesBefore = watches(api).length;
  api.closeWatches();
  await waitFor("resumed watch", () => watches(api).length === watchesBefore + 1 && api.openWatches === 1);
  t.same(watches(api).at(-1), { rv: rvBefore, status: 200 }, "resumed from the last resourceVersion");
  t.equal(lists(api), listsBefore, "no relist");
  api.patchPodCidrs("node-1", ["10.244.7.0/24"]);
  await waitFor("event on the resumed stream", () => subnets(conflist)[0] === "10.244.7.0/24");

  // 4a. 410 as an ERROR event on an open stream => relist, then watch from the list's resourceVersion.
  api.expireWatches();
  await waitFor("relist after ERROR 410", () => lists(api) === listsBefore + 1 && api.openWatches === 1);
  t.equal(watches(api).at(-1)?.rv, api.resourceVersion);
  // 4b. The history was compacted while the stream was down: resuming gets 410 Gone => relist.
  const oldRv = api.resourceVersion;
  api.compact();
  api.closeWatches();
  await waitFor("relist after a too-old resourceVersion", () => lists(api) === listsBefore + 2 && api.openWatches === 1);
  const tail = watches(api).slice(-2);
  t.same(tail, [{ rv: oldRv, status: 200 }, { rv: api.resourceVersion, status: 200 }], "watch@old (410 event) -> list -> watch@new");
  api.patchPodCidrs("node-1", ["10.244.8.0/24"]);
  await waitFor("events after the relist", () => subnets(conflist)[0] === "10.244.8.0/24");

  // 5. API errors back off (exponential) and recover.
  const before = api.requests.length;
  api.failNext(3, 503);
  api.closeWatches();
  await waitFor("recovered", () => api.requests.slice(before).some((r) => r.status === 200) && api.openWatches === 1);
  const failed = api.requests.slice(before).filter((r) => r.status === 503);
  t.equal(failed.length, 3);
  const gaps = failed.slice(1).map((r, i) => r.at - (failed[i]?.at ?? 0));
  t.ok(gaps.length === 2 && (gaps[0] ?? 0) >= 350 && (gaps[1] ?? 0) >= (gaps[0] ?? 0) * 1.2, `back-off gaps grow: ${gaps.map((g) => g.toFixed(0)).join(", ")} ms`);
  api.patchPodCidrs("node-1", ["10.244.9.0/24"]);
  await waitFor("events after recovery", () => subnets(conflist)[0] === "10.244.9.0/24");
  t.match(agent.metrics(), /kubenet_agent_node_watch_relists_total 2\n/);
  t.equal(agent.metric("kubenet_agent_node_watch_api_errors_total"), 3);
  t.same(await agent.stop(), { code: 0, signal: null }, "SIGTERM: clean exit with a watch open");
});

t.test("Kubernetes mode: dual-stack podCIDRs; a Node that appears later", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, api, conflist } = await setup(t, () => undefined);
  await waitFor("watch open", () => api.openWatches === 1);
  api.setNode("node-1", { podCIDR: "10.244.5.0/24", podCIDRs: ["10.244.5.0/24", "fd00:10:244:5::/64"] });
  await waitFor("conflist", () => existsSync(conflist));
  t.same(subnets(conflist), ["10.244.5.0/24", "fd00:10:244:5::/64"]);
  await waitFor("v6 rules", () => natTable(ns, { family: 6 }).rules.some((r) => r.includes("-s fd00:10:244:5::/64")));
  t.same(
    natTable(ns, { family: 6 }).rules.filter((r) => r.startsWith("-A KUBENET-MASQ")).map((r) => r.split(" ")[3]),
    ["fe80::/10", "fd00:10:244::/56", "comment"],
  );
  t.equal(sysctl(ns, "net.ipv6.conf.all.forwarding"), "1");
  t.equal(sysctl(ns, "net.bridge.bridge-nf-call-ip6tables"), "1");
});
