// Kernel tests of the datapath building blocks, in-process, in throwaway namespaces (the "host" namespace is
// named explicitly, so nothing touches the namespace the test runs in): the bridge, its gateway addresses,
// the veth pair and the pod interface. `ip -j` is the independent oracle.

import t from "tap";
import { CniError } from "../../core/cni/errors.js";
import { parseCidr, parseIp } from "../../core/ip-parse.js";
import { ensureBridge, ensureGatewayAddrs, findBridge } from "../../plugin/bridge/bridge.js";
import { configureContainerIface, planRoutes, setLoopbackUp } from "../../plugin/bridge/container-iface.js";
import { findContainerNs, getContainerNs, openHostNs, type NsHandle } from "../../plugin/bridge/netns.js";
import { hostVethAlias } from "../../core/cni/host-veth-alias.js";
import { attachHostVeth, createVeth, findHostVeths } from "../../plugin/bridge/veth.js";
import { KERNEL_SKIP, createNetns, type TestNetns } from "../support/netns.js";
import { defaultRoutes, globalAddrs, link, vethNames, type TapTest } from "./datapath-support.js";

function handles(t: TapTest, host: TestNetns, pod?: TestNetns): { h: NsHandle; c: NsHandle | undefined } {
  const h = openHostNs(host.path);
  const c = pod ? getContainerNs(pod.path) : undefined;
  t.teardown(() => {
    h.close();
    c?.close();
  });
  return { h, c };
}

const sysctl = (ns: TestNetns, name: string): string => ns.exec("cat", [`/proc/sys/${name}`]).trim();

t.test("ensureBridge: creates with MTU, up, accept_ra=0; idempotent; verifies the kind", { skip: KERNEL_SKIP }, async (t) => {
  const host = createNetns(t, "host");
  const { h } = handles(t, host);
  const br = ensureBridge(h, { name: "cbr0", mtu: 1400, promiscMode: false });
  t.equal(br.kind, "bridge");
  t.ok(br.up);
  t.equal(link(host, "cbr0")?.mtu, 1400);
  t.equal(sysctl(host, "net/ipv6/conf/cbr0/accept_ra"), "0");
  const again = ensureBridge(h, { name: "cbr0", mtu: 9000, promiscMode: true });
  t.equal(again.index, br.index, "same bridge");
  t.equal(link(host, "cbr0")?.mtu, 1400, "an existing bridge keeps its MTU");
  t.ok(again.promisc, "promisc turned on when asked");
  t.equal(findBridge(h, "nope"), undefined);

  host.exec("ip", ["link", "add", "br-x", "type", "veth", "peer", "name", "br-y"]);
  t.throws(() => ensureBridge(h, { name: "br-x", mtu: 0, promiscMode: false }), { code: 109, message: /"br-x" already exists but is not a bridge/ });
});

t.test("ensureGatewayAddrs: adds, tolerates repeats, conflicts (104) unless forceAddress, pins the MAC, forwards", { skip: KERNEL_SKIP }, async (t) => {
  const host = createNetns(t, "host");
  const { h } = handles(t, host);
  const br = ensureBridge(h, { name: "cbr0", mtu: 0, promiscMode: false });
  const gw4 = parseCidr("10.20.0.1/24");
  const gw6 = parseCidr("fd00:20::1/64");
  ensureGatewayAddrs(h, br, [gw4, gw6], false);
  ensureGatewayAddrs(h, br, [gw4, gw6], false);
  t.same(globalAddrs(host, "cbr0").sort(), ["10.20.0.1/24", "fd00:20::1/64"]);
  t.equal(sysctl(host, "net/ipv4/ip_forward"), "1");
  t.equal(sysctl(host, "net/ipv6/conf/all/forwarding"), "1");

  // A new PodCIDR: the old IPv4 address conflicts.
  const next = parseCidr("10.21.0.1/24");
  const err = (() => {
    try {
      ensureGatewayAddrs(h, br, [next], false);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.ok(err instanceof CniError && err.code === 104, "code 104");
  t.match((err as Error).message, /already has an IP address 10\.20\.0\.1\/24 different from 10\.21\.0\.1\/24/);
  ensureGatewayAddrs(h, br, [next], true);
  t.same(globalAddrs(host, "cbr0").sort(), ["10.21.0.1/24", "fd00:20::1/64"], "v4 replaced, non-overlapping v6 kept");
  // An overlapping IPv6 address is a conflict too.
  t.throws(() => ensureGatewayAddrs(h, br, [parseCidr("fd00:20::2/64")], false), { code: 104 });
});

t.test("veth + pod interface: names, MTU, alias, hairpin, addresses, routes, lo; CNI_IFNAME taken is 103", { skip: KERNEL_SKIP }, async (t) => {
  const host = createNetns(t, "host");
  const pod = createNetns(t, "ctr");
  pod.exec("ip", ["link", "set", "lo", "down"]);
  const { h, c } = handles(t, host, pod);
  const podNs = c as NsHandle;
  const br = ensureBridge(h, { name: "cbr0", mtu: 1450, promiscMode: false });
  const pair = createVeth(podNs, h, { ifName: "eth0", mtu: 1450, mac: "c2:11:22:33:44:55" });
  t.match(pair.hostName, /^veth[0-9a-f]{8}$/);
  t.equal(pair.container.mac, "c2:11:22:33:44:55");
  const alias = hostVethAlias("testnet", "abc123", "eth0");
  const hostVeth = attachHostVeth(h, pair.hostName, { bridge: br, hairpin: true, alias });
  t.equal(hostVeth.master, br.index);
  t.equal(hostVeth.alias, "kubenet:testnet:abc123:eth0");
  t.same(findHostVeths(h, alias).map((l) => l.name), [pair.hostName]);
  t.equal(link(host, pair.hostName)?.mtu, 1450);
  t.equal(link(host, pair.hostName)?.linkinfo?.info_slave_data?.hairpin, true);
  t.equal(link(pod, "eth0")?.mtu, 1450);

  const ips = [
    { address: parseCidr("10.30.0.5/24"), gateway: parseIp("10.30.0.1"), interface: 2 },
    { address: parseCidr("fd00:30::5/64"), gateway: parseIp("fd00:30::1"), interface: 2 },
  ];
  const routes = planRoutes(ips, [{ dst: parseCidr("0.0.0.0/0") }, { dst: parseCidr("10.40.0.0/16") }], true);
  configureContainerIface(podNs, { link: pair.container, ips, routes });
  configureContainerIface(podNs, { link: pair.container, ips, routes }); // EEXIST everywhere: tolerated
  setLoopbackUp(podNs);
  t.same(globalAddrs(pod, "eth0").sort(), ["10.30.0.5/24", "fd00:30::5/64"]);
  t.same(defaultRoutes(pod, 4).map((r) => r.gateway), ["10.30.0.1"]);
  t.same(defaultRoutes(pod, 6).map((r) => r.gateway), ["fd00:30::1"]);
  t.match(pod.exec("ip", ["-4", "route", "show", "10.40.0.0/16"]), /via 10\.30\.0\.1 dev eth0/);
  t.equal(sysctl(pod, "net/ipv4/conf/eth0/arp_notify"), "1");
  t.equal(sysctl(pod, "net/ipv6/conf/eth0/accept_dad"), "0");
  t.equal(link(pod, "lo")?.operstate, "UNKNOWN", "lo up");

  // A route that differs from one already there is a clear error, not a silent success.
  t.throws(
    () => configureContainerIface(podNs, { link: pair.container, ips, routes: [{ dst: parseCidr("10.40.0.0/16"), gw: parseIp("10.30.0.9") }] }),
    { code: 102, message: /a different route to 10\.40\.0\.0\/16 already exists/ },
  );

  // The same CNI_IFNAME again: 103, and no new host veth.
  const before = vethNames(host).length;
  t.throws(() => createVeth(podNs, h, { ifName: "eth0", mtu: 0 }), { code: 103, message: /"eth0" already exists/ });
  t.equal(vethNames(host).length, before);
});

t.test("findContainerNs: a missing path or a plain file is 'gone'; getContainerNs says 110", { skip: KERNEL_SKIP }, async (t) => {
  t.equal(findContainerNs("/run/netns/definitely-not-there"), undefined);
  t.equal(findContainerNs("/etc/hostname"), undefined);
  t.throws(() => getContainerNs("/run/netns/definitely-not-there"), { code: 110 });
});
