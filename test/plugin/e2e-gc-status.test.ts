// End to end, GC and STATUS (1.1.0). GC releases the leases and host veths of every attachment that is not
// in cni.dev/valid-attachments (or the lib's alias cni.dev/attachments) and leaves valid pods working.
// STATUS: 0 when ADD would work; 51 when pods exist whose veths lost the bridge.

import t from "tap";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { describeRun, errorOf } from "../support/plugin-harness.js";
import { cni, containerId, kubenetConf, leaseOwner, leases, link, ok, ping, resultIps, stripPrefix, tempDir, vethNames } from "./datapath-support.js";

for (const key of ["cni.dev/valid-attachments", "cni.dev/attachments"]) {
  t.test(`GC with ${key}: invalid attachments lose lease and veth, valid ones keep working`, { skip: KERNEL_SKIP }, async (t) => {
    const { host, containers } = createTopology(t, 3);
    const dataDir = tempDir(t);
    const config = kubenetConf({ dataDir, subnet: "10.73.0.0/24" });
    const ids = containers.map(() => containerId());
    const ips = containers.map((c, i) => resultIps(ok(cni("ADD", { host, netns: c.path, id: ids[i] as string, config })).json)[0] as string);
    // A lease leaked by a pod whose DEL never came (no veth at all any more), in host-local's format.
    writeFileSync(join(dataDir, "kubenet", "10.73.0.200"), `${containerId()}\r\neth0`, { mode: 0o600 });
    const [p0, , p2] = containers as [TestNetns, TestNetns, TestNetns];

    const valid = [
      { containerID: ids[0], ifname: "eth0" },
      { containerID: ids[1], ifname: "eth0" },
    ];
    const run = cni("GC", { host, netns: undefined, id: "", config: { ...config, [key]: valid } });
    t.equal(run.code, 0, `GC: ${describeRun(run)}`);
    t.equal(run.stdout.trim(), "", "GC prints nothing");
    t.same(leases(dataDir), [ips[0], ips[1]].map((x) => stripPrefix(x as string)).sort(), "the invalid attachment's lease is released");
    t.equal(vethNames(host).length, 2, "its host veth is removed");
    t.equal(link(p2, "eth0"), undefined, "and with it the pod end");
    t.match(leaseOwner(dataDir, stripPrefix(ips[0] as string)), ids[0] as string);
    const p = ping(p0, stripPrefix(ips[1] as string));
    t.ok(p.ok, `valid pods still talk: ${p.out}`);

    // GC with an empty valid list releases everything.
    const all = cni("GC", { host, netns: undefined, id: "", config: { ...config, [key]: [] } });
    t.equal(all.code, 0, describeRun(all));
    t.same(leases(dataDir), []);
    t.same(vethNames(host), []);
  });
}

t.test("STATUS: ready, then 51 when pods lost their bridge, ready again once they are gone", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.74.0.0/24" });
  const status = (): ReturnType<typeof cni> => cni("STATUS", { host, netns: undefined, id: "", config });
  t.equal(status().code, 0, "ready before the first pod (the bridge does not exist yet)");
  const ids = containers.map(() => containerId());
  containers.forEach((c, i) => ok(cni("ADD", { host, netns: c.path, id: ids[i] as string, config })));
  const ready = status();
  t.equal(ready.code, 0, `ready with pods: ${describeRun(ready)}`);

  host.exec("ip", ["link", "del", "cbr0"]);
  const degraded = status();
  t.equal(errorOf(degraded)?.code, 51, `51 when the bridge is gone under pods: ${describeRun(degraded)}`);
  t.match(errorOf(degraded)?.msg, /2 pod veth\(s\)/);

  containers.forEach((c, i) => ok(cni("DEL", { host, netns: c.path, id: ids[i] as string, config })));
  t.equal(status().code, 0, "ready again");
});
