// The `bandwidth` drop-in (dist/bandwidth) chained after a bridge, and interop with Debian's reference
// /usr/lib/cni/bandwidth both ways: the same IFB name, so either plugin's DEL removes what the other's ADD
// made, and either CHECK accepts the other's qdiscs. The chain runs as a runtime runs it: ADD bridge, then
// ADD bandwidth with the bridge's result as prevResult; DEL bandwidth, then DEL bridge.

import t from "tap";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { KERNEL_SKIP, createTopology, type Teardownable, type TestNetns } from "../support/netns.js";
import { BRIDGE_BIN, DIST, REF_PLUGIN_DIR, errorOf } from "../support/plugin-harness.js";
import { bandwidth, hostVethOf, ifbs, ingressFilters, qdiscs } from "./bandwidth-support.js";
import { cni, containerId, ok, tempDir, withPrev } from "./datapath-support.js";

const OUR_BW = join(DIST, "bandwidth");
const REF_BW = join(REF_PLUGIN_DIR, "bandwidth");
const SKIP = KERNEL_SKIP || (!existsSync(REF_BW) && "Debian's containernetworking-plugins is not installed");

function bridgeConf(dataDir: string, subnet: string): Record<string, unknown> {
  return { cniVersion: "1.0.0", name: "bwnet", type: "bridge", bridge: "cni0", isGateway: true, ipam: { type: "host-local", subnet, dataDir } };
}
const bwConf = (prevResult: unknown, limits: Record<string, unknown>): Record<string, unknown> => ({
  cniVersion: "1.0.0",
  name: "bwnet",
  type: "bandwidth",
  ...limits,
  prevResult,
});

interface Chain {
  host: TestNetns;
  pod: TestNetns;
  id: string;
  bridge: Record<string, unknown>;
  bridgeResult: unknown;
}

function addBridge(t: Teardownable, subnet: string): Chain {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const bridge = bridgeConf(tempDir(t), subnet);
  const id = containerId();
  const bridgeResult = ok(cni("ADD", { host, netns: pod.path, id, config: bridge, bin: BRIDGE_BIN, path: DIST })).json;
  return { host, pod, id, bridge, bridgeResult };
}

const LIMITS = bandwidth(10, 20, 800_000);

t.test("our drop-in after a bridge: shapes the host veth found through prevResult; theirs DELs it", { skip: SKIP }, async (t) => {
  const c = addBridge(t, "10.92.0.0/24");
  const veth = hostVethOf(c.bridgeResult, "cni0");
  const add = ok(cni("ADD", { host: c.host, netns: c.pod.path, id: c.id, config: bwConf(c.bridgeResult, LIMITS), bin: OUR_BW }));
  const [ifb] = ifbs(c.host);
  const r = add.json as { interfaces: { name: string }[]; ips: unknown[] };
  t.same(r.interfaces.map((i) => i.name).slice(-1), [ifb], "prevResult + the IFB");
  t.equal(r.ips.length, 1, "prevResult's IPs kept");
  t.match(qdiscs(c.host, veth).find((q) => q.kind === "tbf"), { options: { rate: 1_250_000, burst: 100_000 } });
  t.match(ingressFilters(c.host, veth), [{ options: { actions: [{ to_dev: ifb }] } }]);

  const checkConf = bwConf(add.json, LIMITS);
  ok(cni("CHECK", { host: c.host, netns: c.pod.path, id: c.id, config: checkConf, bin: OUR_BW }));
  const theirCheck = cni("CHECK", { host: c.host, netns: c.pod.path, id: c.id, config: checkConf, bin: REF_BW });
  t.equal(theirCheck.code, 0, `the reference's CHECK accepts our qdiscs: ${theirCheck.stdout}`);

  ok(cni("DEL", { host: c.host, netns: c.pod.path, id: c.id, config: checkConf, bin: REF_BW }));
  t.same(ifbs(c.host), [], "the reference's DEL removed our IFB");
  ok(cni("DEL", { host: c.host, netns: c.pod.path, id: c.id, config: checkConf, bin: OUR_BW }));
  ok(cni("DEL", { host: c.host, netns: c.pod.path, id: c.id, config: withPrev(c.bridge, c.bridgeResult), bin: BRIDGE_BIN, path: DIST }));
});

t.test("the reference's ADD: our CHECK accepts it, our DEL removes its IFB", { skip: SKIP }, async (t) => {
  const c = addBridge(t, "10.92.1.0/24");
  const add = ok(cni("ADD", { host: c.host, netns: c.pod.path, id: c.id, config: bwConf(c.bridgeResult, LIMITS), bin: REF_BW }));
  t.equal(ifbs(c.host).length, 1, "their IFB");
  const checkConf = bwConf(add.json, LIMITS);
  const ours = cni("CHECK", { host: c.host, netns: c.pod.path, id: c.id, config: checkConf, bin: OUR_BW });
  t.equal(ours.code, 0, `our CHECK accepts the reference's qdiscs: ${ours.stdout}`);
  ok(cni("DEL", { host: c.host, netns: c.pod.path, id: c.id, config: checkConf, bin: OUR_BW }));
  t.same(ifbs(c.host), [], "our DEL removed their IFB");
});

t.test("drop-in rules: no limits passes prevResult through; limits without prevResult or veth are errors", { skip: SKIP }, async (t) => {
  const c = addBridge(t, "10.92.2.0/24");
  const none = ok(cni("ADD", { host: c.host, netns: c.pod.path, id: c.id, config: bwConf(c.bridgeResult, {}), bin: OUR_BW }));
  t.same(none.json, c.bridgeResult, "no limits: prevResult untouched");
  t.same(ifbs(c.host), []);
  const noPrev = { cniVersion: "1.0.0", name: "bwnet", type: "bandwidth", ...LIMITS };
  t.match(errorOf(cni("ADD", { host: c.host, netns: c.pod.path, id: c.id, config: noPrev, bin: OUR_BW })), { code: 7, msg: /must be called as a chained plugin/ });
  t.match(errorOf(cni("ADD", { host: c.host, netns: c.pod.path, id: c.id, ifName: "lo", config: bwConf(c.bridgeResult, LIMITS), bin: OUR_BW })), { code: 7, msg: /container interface "lo" has no veth peer/ });
  const foreign = { ...(c.bridgeResult as Record<string, unknown>), interfaces: [{ name: "eth0", sandbox: c.pod.path }], ips: [] };
  t.match(errorOf(cni("ADD", { host: c.host, netns: c.pod.path, id: c.id, config: bwConf(foreign, LIMITS), bin: OUR_BW })), { code: 7, msg: /no veth peer of container interface found in host ns/ });
  t.same(ifbs(c.host), [], "nothing made");
  t.notOk(qdiscs(c.host, hostVethOf(c.bridgeResult, "cni0")).some((q) => q.kind === "tbf" || q.kind === "ingress"));
});
