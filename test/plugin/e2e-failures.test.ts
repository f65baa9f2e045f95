// End to end, failing ADDs: each must fail with a clear CNI error and leave nothing half-made (no lease, no
// veth in the host or the pod). Covers exhaustion (/29, then STATUS 50), failures after IPAM that must roll
// back (a route the kernel refuses, a bridge address conflict), and checks done before anything is touched
// (CNI_IFNAME taken in the pod, bridge name taken by a non-bridge, missing netns).

import t from "tap";
import { writeFileSync } from "node:fs";
import { KERNEL_SKIP, createNetns, createTopology, type TestNetns } from "../support/netns.js";
import { describeRun, errorOf } from "../support/plugin-harness.js";
import {
  cni,
  containerId,
  globalAddrs,
  kubenetConf,
  leases,
  link,
  ok,
  tempDir,
  vethNames,
  withPrev,
  type TapTest,
} from "./datapath-support.js";

function assertNothingLeft(t: TapTest, host: TestNetns, pod: TestNetns, hostVeths = 0): void {
  t.equal(vethNames(host).length, hostVeths, "no new host veth");
  t.same(vethNames(pod), [], "no veth in the pod");
  t.equal(link(pod, "eth0")?.linkinfo?.info_kind, undefined, "no eth0 veth in the pod");
}

t.test("exhaustion on a /29: the 6th ADD fails with code 100 and leaves nothing; STATUS says 50", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 6);
  const dataDir = tempDir(t);
  const config = kubenetConf({ subnet: "10.91.0.0/29", dataDir });
  const ids = containers.map(() => containerId());
  const status0 = cni("STATUS", { host, netns: undefined, id: "", config });
  t.equal(status0.code, 0, `STATUS before: ${describeRun(status0)}`);
  for (let i = 0; i < 5; i++) ok(cni("ADD", { host, netns: containers[i]?.path, id: ids[i] as string, config }));
  t.same(leases(dataDir), ["10.91.0.2", "10.91.0.3", "10.91.0.4", "10.91.0.5", "10.91.0.6"]);

  const last = containers[5] as TestNetns;
  const run = cni("ADD", { host, netns: last.path, id: ids[5] as string, config });
  t.not(run.code, 0, "ADD fails");
  t.equal(errorOf(run)?.code, 100, `code 100: ${describeRun(run)}`);
  t.match(errorOf(run)?.msg, /10\.91\.0\./, "the message names the range");
  assertNothingLeft(t, host, last, 5);
  t.equal(leases(dataDir).length, 5, "no extra lease");

  const status = cni("STATUS", { host, netns: undefined, id: "", config });
  t.equal(errorOf(status)?.code, 50, `STATUS 50 when exhausted: ${describeRun(status)}`);
  ok(cni("DEL", { host, netns: containers[0]?.path, id: ids[0] as string, config }));
  const status2 = cni("STATUS", { host, netns: undefined, id: "", config });
  t.equal(status2.code, 0, `STATUS ready again after a DEL: ${describeRun(status2)}`);
});

t.test("CNI_IFNAME already in the pod: code 103 naming it, nothing created", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  pod.exec("ip", ["link", "add", "eth0", "type", "veth", "peer", "name", "other0"]);
  const dataDir = tempDir(t);
  const run = cni("ADD", { host, netns: pod.path, id: containerId(), config: kubenetConf({ dataDir }) });
  t.equal(errorOf(run)?.code, 103, describeRun(run));
  t.match(errorOf(run)?.msg, /"eth0"/);
  t.same(leases(dataDir), [], "no lease");
  t.same(vethNames(host), [], "no host veth");
  t.same(vethNames(pod).sort(), ["eth0", "other0"], "the pod's own eth0 is untouched");
});

t.test("a route the kernel refuses: ADD fails after IPAM and rolls back lease and veth", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const dataDir = tempDir(t);
  // The gateway 192.0.2.1 is not on any connected network of the pod: "Nexthop has invalid gateway".
  const config = kubenetConf({ dataDir, routes: [{ dst: "0.0.0.0/0" }, { dst: "10.200.0.0/16", gw: "192.0.2.1" }] });
  const run = cni("ADD", { host, netns: pod.path, id: containerId(), config });
  t.equal(errorOf(run)?.code, 102, describeRun(run));
  t.match(errorOf(run)?.msg, /10\.200\.0\.0\/16 via 192\.0\.2\.1/, "the message names the route");
  t.same(leases(dataDir), [], "lease released by the rollback");
  assertNothingLeft(t, host, pod);
  t.equal(link(pod, "eth0"), undefined, "eth0 gone");
});

t.test("bridge address conflict without forceAddress: code 104, rolled back; with forceAddress: replaced", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const dataDir = tempDir(t);
  host.exec("ip", ["link", "add", "cbr0", "type", "bridge"]);
  host.exec("ip", ["addr", "add", "10.50.0.1/24", "dev", "cbr0"]);
  const strict = { ...kubenetConf({ dataDir, subnet: "10.51.0.0/24" }), forceAddress: false };
  const run = cni("ADD", { host, netns: containers[0]?.path, id: containerId(), config: strict });
  t.equal(errorOf(run)?.code, 104, describeRun(run));
  t.match(errorOf(run)?.msg, /10\.50\.0\.1\/24/, "names the address found");
  t.match(errorOf(run)?.msg, /10\.51\.0\.1\/24/, "names the address wanted");
  t.same(leases(dataDir), [], "lease released");
  assertNothingLeft(t, host, containers[0] as TestNetns);
  const statusStrict = cni("STATUS", { host, netns: undefined, id: "", config: strict });
  t.equal(errorOf(statusStrict)?.code, 50, `STATUS reports the conflict: ${describeRun(statusStrict)}`);

  const forced = kubenetConf({ dataDir, subnet: "10.51.0.0/24" });
  ok(cni("ADD", { host, netns: containers[1]?.path, id: containerId(), config: forced }));
  t.same(globalAddrs(host, "cbr0"), ["10.51.0.1/24"], "old address replaced");
});

t.test("bridge name taken by a non-bridge: code 109, nothing created", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  host.exec("ip", ["link", "add", "cbr0", "type", "veth", "peer", "name", "cbr0peer"]);
  const dataDir = tempDir(t);
  const run = cni("ADD", { host, netns: containers[0]?.path, id: containerId(), config: kubenetConf({ dataDir }) });
  t.equal(errorOf(run)?.code, 109, describeRun(run));
  t.match(errorOf(run)?.msg, /already exists but is not a bridge/);
  t.same(leases(dataDir), []);
  assertNothingLeft(t, host, containers[0] as TestNetns, 2);
});

t.test("missing CNI_NETNS path on ADD: code 110", { skip: KERNEL_SKIP }, async (t) => {
  const host = createNetns(t, "host");
  const dataDir = tempDir(t);
  const run = cni("ADD", { host, netns: "/run/netns/does-not-exist", id: containerId(), config: kubenetConf({ dataDir }) });
  t.equal(errorOf(run)?.code, 110, describeRun(run));
  t.same(leases(dataDir), []);
});

t.test("DEL forgives: changed range, no prevResult, interface already gone, netns not a namespace", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const [a, b] = containers as [TestNetns, TestNetns];
  const dataDir = tempDir(t);
  const before = kubenetConf({ dataDir, subnet: "10.61.0.0/24" });
  const after = kubenetConf({ dataDir, subnet: "10.62.0.0/24" });
  const idA = containerId();
  const idB = containerId();
  const resA = ok(cni("ADD", { host, netns: a.path, id: idA, config: before })).json;
  ok(cni("ADD", { host, netns: b.path, id: idB, config: before }));

  // The PodCIDR changed since ADD; the runtime passes the ADD result as prevResult.
  const r1 = cni("DEL", { host, netns: a.path, id: idA, config: withPrev(after, resA) });
  t.equal(r1.code, 0, describeRun(r1));
  t.equal(leases(dataDir).length, 1, "lease from the old range released");

  // Interface deleted behind our back, no prevResult: lease still released, host veth already gone.
  b.exec("ip", ["link", "del", "eth0"]);
  const r2 = cni("DEL", { host, netns: b.path, id: idB, config: after });
  t.equal(r2.code, 0, describeRun(r2));
  t.same(leases(dataDir), [], "no lease left");
  t.same(vethNames(host), [], "no veth left");

  // A netns path that is a plain file (the runtime unmounted it but left the file).
  writeFileSync(`${dataDir}/not-a-netns`, "");
  const r3 = cni("DEL", { host, netns: `${dataDir}/not-a-netns`, id: idB, config: after });
  t.equal(r3.code, 0, describeRun(r3));
});
