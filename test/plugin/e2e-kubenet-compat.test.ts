// End to end: the exact configs kubelet's kubenet generated (cni-and-kubenet.md §5.1), run through our
// drop-in names as kubenet ran them: `loopback` (0.1.0, ifname lo) first, then `bridge` (0.1.0) with the
// kubenet-only key "addIf", host-local's legacy top-level subnet/gateway (older kubelets) or range sets
// (the dual-stack era). The same configs through Debian's reference plugins give the same pod addresses,
// gateways and routes; leases land where kubenet kept them (<dataDir>/kubenet).

import t from "tap";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { BRIDGE_BIN, LOOPBACK_BIN, REF_PLUGIN_DIR } from "../support/plugin-harness.js";
import { cni, containerId, defaultRoutes, globalAddrs, leaseOwner, leases, link, ok, ping, stripPrefix, tempDir, withPrev } from "./datapath-support.js";

const REF_BRIDGE = join(REF_PLUGIN_DIR, "bridge");
const REF_LOOPBACK = join(REF_PLUGIN_DIR, "loopback");
const NO_REF = !existsSync(REF_BRIDGE) && "Debian's containernetworking-plugins is not installed";

/** kubelet ~1.9: single-stack, host-local's legacy keys at the top of ipam. */
function oldKubenetConf(dataDir: string, subnet: string, gateway: string): Record<string, unknown> {
  return {
    cniVersion: "0.1.0", name: "kubenet", type: "bridge", bridge: "cbr0", mtu: 1460, addIf: "eth0",
    isGateway: true, ipMasq: false, hairpinMode: false,
    ipam: { type: "host-local", subnet, gateway, routes: [{ dst: "0.0.0.0/0" }], dataDir },
  };
}

/** kubelet 1.2x (dual-stack era): range sets, one route per family; hairpin-veth mode. */
function dualKubenetConf(dataDir: string): Record<string, unknown> {
  return {
    cniVersion: "0.1.0", name: "kubenet", type: "bridge", bridge: "cbr0", mtu: 1460, addIf: "eth0",
    isGateway: true, ipMasq: false, hairpinMode: true,
    ipam: {
      type: "host-local",
      ranges: [[{ subnet: "10.181.1.0/24", gateway: "10.181.1.1" }], [{ subnet: "fd00:181:1::/64", gateway: "fd00:181:1::1" }]],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
      dataDir,
    },
  };
}

/** Which executables play bridge/loopback, and the CNI_PATH the bridge finds its IPAM in. */
interface Bins { readonly bridge: string; readonly loopback: string; readonly path: string }

const LOOPBACK_CONF = { cniVersion: "0.1.0", name: "kubenet-loopback", type: "loopback" };

interface Ip4Result { ip4?: { ip: string; gateway?: string }; ip6?: { ip: string; gateway?: string } }

/** SetUpPod as kubenet did it: loopback ADD (ifname lo), then the bridge ADD (ifname eth0). */
function setUpPod(host: TestNetns, pod: TestNetns, id: string, config: Record<string, unknown>, bins: Bins): Ip4Result {
  ok(cni("ADD", { host, netns: pod.path, id, ifName: "lo", config: LOOPBACK_CONF, bin: bins.loopback, path: bins.path }));
  return ok(cni("ADD", { host, netns: pod.path, id, config, bin: bins.bridge, path: bins.path })).json as Ip4Result;
}

function tearDownPod(host: TestNetns, pod: TestNetns, id: string, config: Record<string, unknown>, bins: Bins, prev: unknown): void {
  ok(cni("DEL", { host, netns: pod.path, id, ifName: "lo", config: LOOPBACK_CONF, bin: bins.loopback, path: bins.path }));
  ok(cni("DEL", { host, netns: pod.path, id, config: withPrev(config, prev), bin: bins.bridge, path: bins.path }));
}

// Ours runs host-local in-process; theirs execs host-local from CNI_PATH.
const OURS: Bins = { bridge: BRIDGE_BIN, loopback: LOOPBACK_BIN, path: "/opt/cni/bin" };
const THEIRS: Bins = { bridge: REF_BRIDGE, loopback: REF_LOOPBACK, path: REF_PLUGIN_DIR };

t.test("kubenet's old 0.1.0 config (legacy subnet/gateway keys, addIf): two pods, ping, 0.1.0 results, DEL", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const dataDir = tempDir(t);
  const config = oldKubenetConf(dataDir, "10.180.1.0/24", "10.180.1.1");
  const ids = containers.map(() => containerId());
  const results = containers.map((c, i) => setUpPod(host, c, ids[i] as string, config, OURS));
  for (const r of results) {
    t.same(Object.keys(r).sort(), ["cniVersion", "dns", "ip4"], "a 0.1.0 result: ip4 (and dns), nothing else");
    t.match(r.ip4?.ip, /^10\.180\.1\.\d+\/24$/);
    t.equal(r.ip4?.gateway, "10.180.1.1");
  }
  const [a, b] = containers as [TestNetns, TestNetns];
  t.equal(link(a, "lo")?.operstate, "UNKNOWN", "lo is up in the pod (loopback's operstate)");
  t.same(globalAddrs(host, "cbr0"), ["10.180.1.1/24"], "cbr0 holds the gateway");
  t.same(defaultRoutes(a).map((r) => r.gateway), ["10.180.1.1"], "one default route via the gateway");
  t.equal(link(a, "eth0")?.mtu, 1460);
  const p = ping(a, stripPrefix(results[1]?.ip4?.ip as string));
  t.ok(p.ok, `pod to pod: ${p.out}`);
  t.same(leases(dataDir), results.map((r) => stripPrefix(r.ip4?.ip as string)).sort(), "leases in <dataDir>/kubenet, as kubenet kept them");
  t.match(leaseOwner(dataDir, stripPrefix(results[0]?.ip4?.ip as string)), `${ids[0] as string}\r\neth0`);
  containers.forEach((c, i) => tearDownPod(host, c, ids[i] as string, config, OURS, results[i]));
  t.same(leases(dataDir), [], "DEL released both leases");
  t.equal(link(b, "eth0"), undefined);
});

t.test("kubenet's dual-stack config: one address per family in the 0.1.0 result, both default routes, ping over both", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const dataDir = tempDir(t);
  const config = dualKubenetConf(dataDir);
  const ids = containers.map(() => containerId());
  const results = containers.map((c, i) => setUpPod(host, c, ids[i] as string, config, OURS));
  for (const r of results) {
    t.match(r.ip4?.ip, /^10\.181\.1\.\d+\/24$/);
    t.match(r.ip6?.ip, /^fd00:181:1::[0-9a-f]+\/64$/);
    t.equal(r.ip6?.gateway, "fd00:181:1::1");
  }
  const [a] = containers as [TestNetns, TestNetns];
  t.same(defaultRoutes(a, 4).map((r) => r.gateway), ["10.181.1.1"]);
  t.same(defaultRoutes(a, 6).map((r) => r.gateway), ["fd00:181:1::1"]);
  for (const ip of [results[1]?.ip4?.ip, results[1]?.ip6?.ip]) {
    const p = ping(a, stripPrefix(ip as string));
    t.ok(p.ok, `pod to pod ${ip as string}: ${p.out}`);
  }
  containers.forEach((c, i) => tearDownPod(host, c, ids[i] as string, config, OURS, results[i]));
  t.same(leases(dataDir), []);
});

t.test("the same kubenet configs through Debian's bridge/loopback and ours: same addresses, gateways and routes", { skip: KERNEL_SKIP || NO_REF }, async (t) => {
  for (const [name, make] of [
    ["old", (d: string) => oldKubenetConf(d, "10.182.1.0/24", "10.182.1.1")],
    ["dual-stack", dualKubenetConf],
  ] as const) {
    const seen: unknown[] = [];
    for (const bins of [OURS, THEIRS]) {
      const { host, containers } = createTopology(t, 1);
      const dataDir = tempDir(t);
      const config = make(dataDir);
      const pod = containers[0] as TestNetns;
      const id = containerId();
      const r = setUpPod(host, pod, id, config, bins);
      seen.push({
        result: { ip4: r.ip4, ip6: r.ip6 },
        podAddrs: globalAddrs(pod, "eth0"),
        routes4: defaultRoutes(pod, 4).map((x) => x.gateway),
        routes6: defaultRoutes(pod, 6).map((x) => x.gateway),
        bridge: globalAddrs(host, "cbr0"),
        mtu: link(pod, "eth0")?.mtu,
        loUp: link(pod, "lo")?.operstate,
        leases: leases(dataDir),
      });
      tearDownPod(host, pod, id, config, bins, r);
      t.same(leases(dataDir), [], `${name}: ${bins === OURS ? "our" : "their"} DEL released the lease`);
    }
    t.same(seen[0], seen[1], `${name}: our drop-ins and the reference plugins agree`);
  }
});
