// End to end, for every supported result version: the built dist/kubenet, run as a runtime runs it, wires
// three pods on a /24 in throwaway namespaces; they reach each other and the gateway; CHECK passes; DEL
// removes veths and leases, a second DEL succeeds, and DEL after the pod netns was deleted frees the lease.

import t from "tap";
import { KERNEL_SKIP, createTopology } from "../support/netns.js";
import { describeRun } from "../support/plugin-harness.js";
import {
  ALL_VERSIONS,
  cni,
  containerId,
  defaultRoutes,
  globalAddrs,
  kubenetConf,
  leases,
  link,
  ok,
  ping,
  resultIps,
  stripPrefix,
  tempDir,
  vethNames,
  withPrev,
  type TapTest,
  type Version,
} from "./datapath-support.js";

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function assertShape(t: TapTest, version: Version, json: unknown, netns: string, subnetPrefix: string): void {
  const r = json as Record<string, unknown>;
  t.equal(r["cniVersion"], version, "cniVersion echoes the config");
  t.ok("dns" in r, "dns present");
  if (version === "0.1.0" || version === "0.2.0") {
    t.notOk("interfaces" in r, "no interfaces in a 0.1/0.2 result");
    t.notOk("ips" in r, "no ips in a 0.1/0.2 result");
    const ip4 = r["ip4"] as { ip: string; gateway: string; routes: { dst: string; gw: string }[] };
    t.match(ip4.ip, new RegExp(`^${subnetPrefix}\\.\\d+/24$`));
    t.equal(ip4.gateway, `${subnetPrefix}.1`);
    t.same(ip4.routes, [{ dst: "0.0.0.0/0", gw: `${subnetPrefix}.1` }]);
    t.notOk("ip6" in r);
    return;
  }
  const ifs = r["interfaces"] as { name: string; mac?: string; mtu?: number; sandbox?: string }[];
  t.equal(ifs.length, 3, "bridge, host veth, pod interface");
  t.equal(ifs[0]?.name, "cbr0");
  t.match(ifs[1]?.name, /^veth[0-9a-f]{8}$/);
  t.equal(ifs[2]?.name, "eth0");
  t.equal(ifs[2]?.sandbox, netns);
  t.notOk(ifs[0]?.sandbox);
  t.notOk(ifs[1]?.sandbox);
  for (const i of ifs) t.match(i.mac, MAC_RE, `${i.name} has a MAC`);
  for (const i of ifs) {
    if (version === "1.1.0") t.equal(i.mtu, 1460, `${i.name} mtu in 1.1.0`);
    else t.notOk("mtu" in i, `no mtu in ${version}`);
  }
  const ips = r["ips"] as Record<string, unknown>[];
  t.equal(ips.length, 1);
  const ip = ips[0] as Record<string, unknown>;
  t.equal(ip["interface"], 2);
  t.match(ip["address"], new RegExp(`^${subnetPrefix}\\.\\d+/24$`));
  t.equal(ip["gateway"], `${subnetPrefix}.1`);
  if (version === "1.0.0" || version === "1.1.0") t.notOk("version" in ip, "no ips[].version from 1.0.0");
  else t.equal(ip["version"], "4");
  t.same(r["routes"], [{ dst: "0.0.0.0/0", gw: `${subnetPrefix}.1` }]);
}

for (const [n, version] of ALL_VERSIONS.entries()) {
  t.test(`cniVersion ${version}: three pods, ping, CHECK, DEL x2, DEL after netns deletion`, { skip: KERNEL_SKIP }, async (t) => {
    const { host, containers } = createTopology(t, 3);
    const dataDir = tempDir(t);
    const prefix = `10.${80 + n}.1`;
    const config = kubenetConf({ version, subnet: `${prefix}.0/24`, dataDir });
    const ids = containers.map(() => containerId());

    const results = containers.map((c, i) => ok(cni("ADD", { host, netns: c.path, id: ids[i] as string, config })).json);
    results.forEach((r, i) => assertShape(t, version, r, (containers[i] as { path: string }).path, prefix));
    const ips = results.map((r) => resultIps(r)[0] as string);
    t.equal(new Set(ips).size, 3, `distinct addresses ${ips.join(", ")}`);
    t.same(leases(dataDir), ips.map(stripPrefix).sort(), "one lease per pod");

    for (const [i, c] of containers.entries()) {
      t.same(globalAddrs(c, "eth0"), [ips[i]], "pod address on eth0");
      t.equal(link(c, "eth0")?.mtu, 1460, "eth0 MTU");
      t.equal(link(c, "lo")?.operstate, "UNKNOWN", "lo up (loopback operstate is UNKNOWN)");
      t.same(defaultRoutes(c).map((r) => [r.gateway, r.dev]), [[`${prefix}.1`, "eth0"]], "default route via the gateway");
    }
    t.same(globalAddrs(host, "cbr0"), [`${prefix}.1/24`], "gateway on the bridge");
    t.equal(vethNames(host).length, 3, "three host veths");

    const [a, b, c] = containers as [typeof containers[0], typeof containers[0], typeof containers[0]];
    for (const [from, to] of [[a, ips[1]], [b, ips[2]], [c, ips[0]], [a, `${prefix}.1/24`]] as const) {
      const p = ping(from, stripPrefix(to as string));
      t.ok(p.ok, `ping ${to} from ${from.name}: ${p.out}`);
    }
    // Hairpin is on the host ports, and each carries its attachment in its alias.
    for (const v of vethNames(host)) t.equal(link(host, v)?.linkinfo?.info_slave_data?.hairpin, true, `${v} hairpin`);
    t.same(
      vethNames(host).map((v) => link(host, v)?.ifalias).sort(),
      ids.map((id) => `kubenet:kubenet:${id}:eth0`).sort(),
      "host veth aliases name (network, containerID, ifname)",
    );

    if (version === "0.4.0" || version === "1.0.0" || version === "1.1.0") {
      for (const [i, ctr] of containers.entries()) {
        const run = cni("CHECK", { host, netns: ctr.path, id: ids[i] as string, config: withPrev(config, results[i]) });
        t.equal(run.code, 0, `CHECK pod ${i}: ${describeRun(run)}`);
        t.equal(run.stdout, "", "CHECK prints nothing");
      }
    }

    // DEL pod 0 (with prevResult when the version has it), twice.
    const delConf = (i: number): unknown => (version >= "0.4.0" ? withPrev(config, results[i]) : config);
    ok(cni("DEL", { host, netns: a.path, id: ids[0] as string, config: delConf(0) }));
    t.equal(link(a, "eth0"), undefined, "eth0 removed");
    t.equal(vethNames(host).length, 2, "its host veth went with it");
    t.same(leases(dataDir), [ips[1], ips[2]].map((x) => stripPrefix(x as string)).sort(), "its lease released");
    const again = cni("DEL", { host, netns: a.path, id: ids[0] as string, config: delConf(0) });
    t.equal(again.code, 0, `second DEL succeeds: ${describeRun(again)}`);

    // DEL after the pod netns is gone: the lease is still released.
    c.destroy();
    const gone = cni("DEL", { host, netns: c.path, id: ids[2] as string, config: delConf(2) });
    t.equal(gone.code, 0, `DEL with a deleted netns: ${describeRun(gone)}`);
    t.same(leases(dataDir), [stripPrefix(ips[1] as string)], "lease of the pod whose netns vanished released");
    t.equal(vethNames(host).length, 1, "its veth is gone too (netns teardown)");

    // DEL with an empty CNI_NETNS (allowed by the spec).
    const empty = cni("DEL", { host, netns: "", id: ids[1] as string, config: delConf(1) });
    t.equal(empty.code, 0, `DEL with an empty CNI_NETNS: ${describeRun(empty)}`);
    t.same(leases(dataDir), [], "no lease left");
    t.equal(vethNames(host).length, 0, "the host veth of a DEL without netns is found by its alias and removed");
  });
}
