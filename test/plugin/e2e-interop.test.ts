// Interop with Debian's containernetworking-plugins (/usr/lib/cni, reference v1.1.x, speaks up to 1.0.0):
//  - our bridge (dist/bridge) delegating IPAM to their host-local (exec'd from CNI_PATH under another name,
//    because ipam.type "host-local" runs in-process for us);
//  - their bridge delegating IPAM to our host-local (CNI_PATH = our dist/);
//  - the same config through both bridges gives equivalent results and kernel state.

import t from "tap";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { KERNEL_SKIP, createNetns, createTopology, type TestNetns } from "../support/netns.js";
import { BRIDGE_BIN, DIST, REF_PLUGIN_DIR, describeRun } from "../support/plugin-harness.js";
import { cni, containerId, defaultRoutes, globalAddrs, leases, link, ok, ping, resultIps, stripPrefix, tempDir, vethNames, withPrev } from "./datapath-support.js";

const REF_BRIDGE = join(REF_PLUGIN_DIR, "bridge");
const REF_HOST_LOCAL = join(REF_PLUGIN_DIR, "host-local");
const SKIP = KERNEL_SKIP || (!existsSync(REF_BRIDGE) && "Debian's containernetworking-plugins is not installed");

function bridgeConf(o: { version: string; dataDir: string; ipamType?: string; subnet: string; routes?: unknown[]; name?: string }): Record<string, unknown> {
  return {
    cniVersion: o.version,
    name: o.name ?? "interop",
    type: "bridge",
    bridge: "cni0",
    isGateway: true,
    isDefaultGateway: true,
    hairpinMode: true,
    mtu: 1400,
    ipam: { type: o.ipamType ?? "host-local", subnet: o.subnet, routes: o.routes ?? [], dataDir: o.dataDir },
  };
}

t.test("our bridge with their host-local (delegated IPAM)", { skip: SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const [a, b] = containers as [TestNetns, TestNetns];
  const dataDir = tempDir(t);
  const binDir = join(tempDir(t), "bin");
  mkdirSync(binDir);
  symlinkSync(REF_HOST_LOCAL, join(binDir, "theirs-host-local"));
  const config = bridgeConf({ version: "1.0.0", dataDir, ipamType: "theirs-host-local", subnet: "10.81.0.0/24" });
  const ids = [containerId(), containerId()];
  const res = [a, b].map((c, i) => ok(cni("ADD", { host, netns: c.path, id: ids[i] as string, config, bin: BRIDGE_BIN, path: binDir })).json);
  const ips = res.map((r) => resultIps(r)[0] as string);
  t.same(ips, ["10.81.0.2/24", "10.81.0.3/24"], "their allocator's order");
  t.same(leases(dataDir, "interop"), ["10.81.0.2", "10.81.0.3"], "their lease files");
  const p = ping(a, stripPrefix(ips[1] as string));
  t.ok(p.ok, p.out);
  const check = cni("CHECK", { host, netns: a.path, id: ids[0] as string, config: withPrev(config, res[0]), bin: BRIDGE_BIN, path: binDir });
  t.equal(check.code, 0, `CHECK (delegated to their host-local too): ${describeRun(check)}`);
  for (const [i, c] of [a, b].entries()) {
    ok(cni("DEL", { host, netns: c.path, id: ids[i] as string, config: withPrev(config, res[i]), bin: BRIDGE_BIN, path: binDir }));
  }
  t.same(leases(dataDir, "interop"), [], "their leases released through our DEL");
  t.same(vethNames(host), []);
});

t.test("their bridge with our host-local (CNI_PATH = dist/)", { skip: SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const [a, b] = containers as [TestNetns, TestNetns];
  const dataDir = tempDir(t);
  const config = bridgeConf({ version: "1.0.0", dataDir, subnet: "10.82.0.0/24" });
  const ids = [containerId(), containerId()];
  const res = [a, b].map((c, i) => ok(cni("ADD", { host, netns: c.path, id: ids[i] as string, config, bin: REF_BRIDGE, path: DIST })).json);
  const ips = res.map((r) => resultIps(r)[0] as string);
  t.same(ips, ["10.82.0.2/24", "10.82.0.3/24"]);
  t.same(leases(dataDir, "interop"), ["10.82.0.2", "10.82.0.3"], "our lease files");
  const p = ping(b, stripPrefix(ips[0] as string));
  t.ok(p.ok, p.out);
  const check = cni("CHECK", { host, netns: a.path, id: ids[0] as string, config: withPrev(config, res[0]), bin: REF_BRIDGE, path: DIST });
  t.equal(check.code, 0, `their CHECK (delegating to our host-local): ${describeRun(check)}`);
  for (const [i, c] of [a, b].entries()) ok(cni("DEL", { host, netns: c.path, id: ids[i] as string, config, bin: REF_BRIDGE, path: DIST }));
  t.same(leases(dataDir, "interop"), []);
});

interface Normalised {
  ips: string[];
  gateways: string[];
  routes: string[];
  interfaces: { name: string; sandbox: boolean; hasMac: boolean }[];
  podAddrs: string[];
  podDefault: (string | undefined)[];
  podRoutes: string[];
  podMtu: number | undefined;
  bridgeAddrs: string[];
  hairpin: boolean | undefined;
}

function normalise(json: unknown, host: TestNetns, pod: TestNetns): Normalised {
  const r = json as {
    interfaces: { name: string; mac?: string; sandbox?: string }[];
    ips: { address: string; gateway?: string }[];
    routes?: { dst: string; gw?: string }[];
  };
  const gwOf = (dst: string): string | undefined => r.ips.find((i) => i.address.includes(":") === dst.includes(":"))?.gateway;
  const routes = [...new Set((r.routes ?? []).map((x) => `${x.dst} via ${x.gw ?? gwOf(x.dst)}`))].sort();
  const veth = vethNames(host)[0] as string;
  return {
    ips: r.ips.map((i) => i.address),
    gateways: r.ips.map((i) => i.gateway ?? ""),
    routes,
    interfaces: r.interfaces.map((i) => ({ name: /^veth/.test(i.name) ? "veth*" : i.name, sandbox: i.sandbox !== undefined && i.sandbox !== "", hasMac: !!i.mac })),
    podAddrs: globalAddrs(pod, "eth0"),
    podDefault: defaultRoutes(pod).map((d) => d.gateway),
    podRoutes: (pod.ipJson(["-4", "route", "show"]) as { dst: string; gateway?: string; dev: string; scope?: string }[])
      .map((x) => `${x.dst} via ${x.gateway ?? "-"} dev ${x.dev} scope ${x.scope ?? "global"}`)
      .sort(),
    podMtu: link(pod, "eth0")?.mtu,
    bridgeAddrs: globalAddrs(host, "cni0"),
    hairpin: link(host, veth)?.linkinfo?.info_slave_data?.hairpin,
  };
}

for (const version of ["0.3.1", "0.4.0", "1.0.0"]) {
  for (const routes of [[], [{ dst: "10.123.0.0/16" }]]) {
    t.test(`same config, both bridges (${version}, ${routes.length} ipam routes): equivalent results`, { skip: SKIP }, async (t) => {
      const results: Normalised[] = [];
      for (const bin of [BRIDGE_BIN, REF_BRIDGE]) {
        const host = createNetns(t, "host");
        const pod = createNetns(t, "ctr");
        const dataDir = tempDir(t);
        const config = bridgeConf({ version, dataDir, subnet: "10.83.0.0/24", routes });
        const run = ok(cni("ADD", { host, netns: pod.path, id: containerId(), config, bin, path: bin === REF_BRIDGE ? REF_PLUGIN_DIR : DIST }));
        results.push(normalise(run.json, host, pod));
      }
      const [ours, theirs] = results as [Normalised, Normalised];
      t.same(ours, theirs, "normalised result and kernel state are the same");
    });
  }
}
