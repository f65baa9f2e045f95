// End to end, L2 only (`"ipam": {}`): the pod gets its veth on the bridge, up, without addresses; the
// result has the interfaces and no IPs. And the `disableContainerInterface` variant leaves it down.

import t from "tap";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { BRIDGE_BIN, describeRun, errorOf } from "../support/plugin-harness.js";
import { cni, containerId, globalAddrs, link, ok, vethNames } from "./datapath-support.js";

const conf = (extra: Record<string, unknown> = {}, version = "1.0.0"): Record<string, unknown> => ({
  cniVersion: version,
  name: "l2",
  type: "bridge",
  bridge: "l2br0",
  ipam: {},
  ...extra,
});

t.test("L2 only: veth on the bridge, pod end up, no IPs", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const [a, b] = containers as [TestNetns, TestNetns];
  const id = containerId();
  const r = ok(cni("ADD", { host, netns: a.path, id, config: conf(), bin: BRIDGE_BIN })).json as Record<string, unknown>;
  t.same((r["interfaces"] as { name: string }[]).map((i) => i.name.replace(/^veth.*/, "veth*")), ["l2br0", "veth*", "eth0"]);
  t.notOk("ips" in r, "no ips");
  t.equal(link(a, "eth0")?.operstate, "UP");
  t.same(globalAddrs(a, "eth0"), []);
  t.same(globalAddrs(host, "l2br0"), [], "no gateway on the bridge");

  const off = ok(cni("ADD", { host, netns: b.path, id: containerId(), config: conf({ disableContainerInterface: true }), bin: BRIDGE_BIN }));
  t.equal(off.code, 0);
  t.notOk(link(b, "eth0")?.flags?.includes("UP"), "disableContainerInterface leaves it down");

  const old = cni("ADD", { host, netns: b.path, id: containerId(), ifName: "eth1", config: conf({}, "0.2.0"), bin: BRIDGE_BIN });
  t.equal(errorOf(old)?.code, 7, `0.2.0 cannot express an L2-only result: refused before touching anything: ${describeRun(old)}`);
  t.equal(link(b, "eth1"), undefined);

  ok(cni("DEL", { host, netns: a.path, id, config: conf(), bin: BRIDGE_BIN }));
  t.equal(vethNames(host).length, 1);
});
