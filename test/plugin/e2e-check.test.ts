// End to end, CHECK: passes right after ADD, and each kind of drift is a code 105 naming what differs.

import t from "tap";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { describeRun, errorOf } from "../support/plugin-harness.js";
import { cni, containerId, kubenetConf, ok, resultIps, tempDir, vethNames, withPrev } from "./datapath-support.js";

interface Drift {
  readonly name: string;
  readonly apply: (host: TestNetns, pod: TestNetns, result: { ips: { address: string }[] }) => void;
  readonly msg: RegExp;
}

const drifts: readonly Drift[] = [
  { name: "pod interface down", apply: (_h, pod) => pod.exec("ip", ["link", "set", "eth0", "down"]), msg: /"eth0" .* is down/ },
  {
    name: "address removed",
    apply: (_h, pod, r) => pod.exec("ip", ["addr", "del", r.ips[0]?.address as string, "dev", "eth0"]),
    msg: /address 10\.75\.0\.\d+\/24 is missing/,
  },
  { name: "default route removed", apply: (_h, pod) => pod.exec("ip", ["route", "del", "default"]), msg: /route 0\.0\.0\.0\/0 via 10\.75\.0\.1 is missing/ },
  {
    name: "hairpin turned off",
    apply: (host) => host.exec("bridge", ["link", "set", "dev", vethNames(host)[0] as string, "hairpin", "off"]),
    msg: /hairpin mode off/,
  },
  {
    name: "host veth detached from the bridge",
    apply: (host) => host.exec("ip", ["link", "set", vethNames(host)[0] as string, "nomaster"]),
    msg: /is not attached to bridge "cbr0"/,
  },
  { name: "pod MAC changed", apply: (_h, pod) => pod.exec("ip", ["link", "set", "eth0", "address", "02:00:00:00:00:42"]), msg: /has MAC 02:00:00:00:00:42/ },
  { name: "pod interface deleted", apply: (_h, pod) => pod.exec("ip", ["link", "del", "eth0"]), msg: /"eth0" does not exist/ },
];

t.test("CHECK after ADD passes; each drift is code 105 naming it", { skip: KERNEL_SKIP }, async (t) => {
  for (const drift of drifts) {
    await t.test(drift.name, async (t) => {
      const { host, containers } = createTopology(t, 1);
      const pod = containers[0] as TestNetns;
      const dataDir = tempDir(t);
      const config = kubenetConf({ dataDir, subnet: "10.75.0.0/24" });
      const id = containerId();
      const result = ok(cni("ADD", { host, netns: pod.path, id, config })).json as { ips: { address: string }[] };
      t.equal(resultIps(result).length, 1);
      const clean = cni("CHECK", { host, netns: pod.path, id, config: withPrev(config, result) });
      t.equal(clean.code, 0, `clean CHECK: ${describeRun(clean)}`);
      drift.apply(host, pod, result);
      const run = cni("CHECK", { host, netns: pod.path, id, config: withPrev(config, result) });
      t.equal(errorOf(run)?.code, 105, describeRun(run));
      t.match(errorOf(run)?.msg, drift.msg);
    });
  }
});

t.test("CHECK without prevResult is an error; CHECK with the lease gone fails", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.76.0.0/24" });
  const id = containerId();
  const result = ok(cni("ADD", { host, netns: pod.path, id, config })).json;
  const noPrev = cni("CHECK", { host, netns: pod.path, id, config });
  t.not(noPrev.code, 0);
  t.match(errorOf(noPrev)?.msg, /prevResult/);
  const other = cni("CHECK", { host, netns: pod.path, id: containerId(), config: withPrev(config, result) });
  t.not(other.code, 0, `CHECK for an ID without a lease fails: ${describeRun(other)}`);
});
