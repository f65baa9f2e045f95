// End to end, chaining: an ADD that receives a prevResult from an earlier plugin keeps it and appends its
// own interfaces and IPs (indexes shifted), as the spec asks of a plugin that is not first in the chain.

import t from "tap";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { cni, containerId, kubenetConf, ok, tempDir, withPrev } from "./datapath-support.js";

t.test("ADD with a prevResult appends to it", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.86.0.0/24", version: "1.0.0" });
  const prev = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: pod.path }],
    ips: [{ interface: 0, address: "127.0.0.1/8" }],
    dns: { nameservers: ["10.96.0.10"] },
  };
  const r = ok(cni("ADD", { host, netns: pod.path, id: containerId(), config: withPrev(config, prev) })).json as {
    interfaces: { name: string }[];
    ips: { interface: number; address: string }[];
    routes: unknown[];
    dns: unknown;
  };
  t.same(r.interfaces.map((i) => i.name.replace(/^veth.*/, "veth*")), ["lo", "cbr0", "veth*", "eth0"]);
  t.same(r.ips.map((i) => [i.interface, i.address]), [[0, "127.0.0.1/8"], [3, "10.86.0.2/24"]]);
  t.same(r.routes, [{ dst: "0.0.0.0/0", gw: "10.86.0.1" }]);
  t.same(r.dns, { nameservers: ["10.96.0.10"] }, "prevResult's dns kept (the config has none)");
});
