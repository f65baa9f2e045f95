// End to end, dual-stack: one IPv4 and one IPv6 range set; each pod gets one address of each family, a
// default route per family via the bridge's gateways, and pods reach each other (and the gateways) over
// both families right away (DAD is off in the pod, so no address is tentative).

import t from "tap";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { describeRun } from "../support/plugin-harness.js";
import { addrs, cni, containerId, defaultRoutes, globalAddrs, kubenetConf, leases, ok, ping, resultIps, stripPrefix, tempDir, withPrev } from "./datapath-support.js";

t.test("dual-stack: an address of each family, both default routes, ping over both", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const [a, b] = containers as [TestNetns, TestNetns];
  const dataDir = tempDir(t);
  const config = kubenetConf({
    dataDir,
    ranges: [[{ subnet: "10.71.0.0/24" }], [{ subnet: "fd00:71::/64" }]],
    routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
  });
  const ids = [containerId(), containerId()];
  const results = [a, b].map((c, i) => ok(cni("ADD", { host, netns: c.path, id: ids[i] as string, config })).json);
  const ips = results.map((r) => resultIps(r));
  for (const [i, c] of [a, b].entries()) {
    const mine = ips[i] as string[];
    t.equal(mine.length, 2, `two addresses: ${mine.join(", ")}`);
    t.match(mine[0], /^10\.71\.0\.\d+\/24$/);
    t.match(mine[1], /^fd00:71::[0-9a-f]+\/64$/);
    t.same(globalAddrs(c, "eth0").sort(), [...mine].sort(), "both on eth0");
    t.notOk(addrs(c, "eth0").some((x) => (x as { tentative?: boolean }).tentative), "no tentative address");
    t.same(defaultRoutes(c, 4).map((r) => r.gateway), ["10.71.0.1"], "IPv4 default route");
    t.same(defaultRoutes(c, 6).map((r) => r.gateway), ["fd00:71::1"], "IPv6 default route");
  }
  const r0 = results[0] as { routes: unknown[]; ips: { gateway: string }[] };
  t.same(r0.routes, [{ dst: "0.0.0.0/0", gw: "10.71.0.1" }, { dst: "::/0", gw: "fd00:71::1" }], "result routes");
  t.same(r0.ips.map((i) => i.gateway), ["10.71.0.1", "fd00:71::1"]);
  t.same(globalAddrs(host, "cbr0").sort(), ["10.71.0.1/24", "fd00:71::1/64"], "both gateways on the bridge");
  t.equal(host.exec("sysctl", ["-n", "net.ipv6.conf.all.forwarding"]).trim(), "1", "IPv6 forwarding on in the host netns");

  for (const target of [(ips[1] as string[])[0], (ips[1] as string[])[1], "fd00:71::1", "10.71.0.1"]) {
    const p = ping(a, stripPrefix(target as string));
    t.ok(p.ok, `ping ${target} from pod a: ${p.out}`);
  }
  const back = ping(b, stripPrefix((ips[0] as string[])[1] as string));
  t.ok(back.ok, `ping -6 back: ${back.out}`);

  const check = cni("CHECK", { host, netns: a.path, id: ids[0] as string, config: withPrev(config, results[0]) });
  t.equal(check.code, 0, `CHECK: ${describeRun(check)}`);
  for (const [i, c] of [a, b].entries()) ok(cni("DEL", { host, netns: c.path, id: ids[i] as string, config }));
  t.same(leases(dataDir), [], "both families' leases released");
});
