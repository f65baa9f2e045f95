// Unit tests of the pure parts of the reconcilers (MTU choice, bridge plan, sysctl logic); the conflist's
// are in conflist.test.ts. No root needed.

import t from "tap";
import { hostVethAlias } from "../../core/cni/host-veth-alias.js";
import { formatCidr, type IpNet } from "../../core/ip.js";
import { parseCidr } from "../../core/ip-parse.js";
import { IFF_LOOPBACK, IFF_POINTOPOINT, type Addr, type Link } from "../../native/index.js";
import { planBridge, syncBridge, type BridgeRtnl } from "./bridge.js";
import { detectMtu, FALLBACK_MTU } from "./mtu.js";
import { desiredSysctls, syncSysctls, type SysctlIo } from "./sysctls.js";

let nextIndex = 1;
function link(name: string, mtu: number, extra: Partial<Link> = {}): Link {
  return {
    index: nextIndex++, name, kind: undefined, flags: 1, up: true, mtu, mac: "", master: undefined, parentIndex: undefined,
    linkNetnsId: undefined, operstate: 6, promisc: false, hairpin: undefined, attrs: [], ...extra,
  };
}
function addr(index: number, cidr: string): Addr {
  const address = parseCidr(cidr);
  return { index, family: address.addr.family, address, scope: 0, flags: 0, label: undefined, attrs: [] };
}

t.test("detectMtu: smallest MTU of up, non-loopback, non-p2p links, without cbr0, bridge ports and pod veths", async (t) => {
  const links = [
    link("lo", 65536, { flags: 1 | IFF_LOOPBACK }),
    link("eth0", 9001),
    link("eth1", 1500),
    link("tun0", 1280, { flags: 1 | IFF_POINTOPOINT }),
    link("down0", 1000, { up: false }),
    link("cbr0", 1400, { kind: "bridge" }),
    link("veth1234", 1300, { kind: "veth", master: 99 }),
    link("veth5678", 1200, { kind: "veth", alias: hostVethAlias("kubenet", "abc", "eth0") }),
  ];
  t.same(detectMtu(links, "cbr0"), { mtu: 1500, from: "eth1" });
  t.same(detectMtu(links.filter((l) => l.name !== "eth1"), "cbr0"), { mtu: 9001, from: "eth0" });
  t.same(detectMtu([link("lo", 65536, { flags: 1 | IFF_LOOPBACK })], "cbr0"), { mtu: FALLBACK_MTU, from: undefined }, "nothing usable");
  t.same(detectMtu([link("eth0", 500)], "cbr0"), { mtu: 1460, from: undefined }, "< 576 is rejected");
  t.same(detectMtu([link("eth0", 576)], "cbr0"), { mtu: 576, from: "eth0" });
  t.same(detectMtu([...links, link("up0", 1450, { kind: "veth" })], "cbr0"), { mtu: 1450, from: "up0" }, "a veth uplink (nobody's port) counts");
});

t.test("planBridge: stale addresses out, new gateway in, IPv6 link-local kept, MTU", async (t) => {
  const br = link("cbr0", 1500, { kind: "bridge" });
  const addrs = [addr(br.index, "10.244.9.1/24"), addr(br.index, "10.244.1.1/24"), addr(br.index, "fe80::1/64"), addr(br.index, "fd00:9::1/64"), addr(999, "192.168.0.1/24")];
  const plan = planBridge(br, addrs, { name: "cbr0", addresses: [parseCidr("10.244.1.1/24"), parseCidr("fd00:1::1/64")], mtu: 1460 });
  t.same(plan.remove.map(formatCidr), ["10.244.9.1/24", "fd00:9::1/64"]);
  t.same(plan.add.map(formatCidr), ["fd00:1::1/64"]);
  t.equal(plan.setMtu, 1460);
  t.same(planBridge(br, [addr(br.index, "10.244.1.1/24")], { name: "cbr0", addresses: [parseCidr("10.244.1.1/24")], mtu: 1500 }), { remove: [], add: [], setMtu: undefined });
});

t.test("syncBridge: applies the plan, tolerates EEXIST/EADDRNOTAVAIL races, absent bridge is a no-op", async (t) => {
  const br = link("cbr0", 1500, { kind: "bridge" });
  let addrs = [addr(br.index, "10.244.9.1/24")];
  const ops: string[] = [];
  const errno = (code: string): Error => Object.assign(new Error(code), { code });
  const rtnl: BridgeRtnl = {
    linkFind: (name) => (name === "cbr0" ? br : undefined),
    addrList: () => addrs,
    addrAdd: (_i, a: IpNet) => {
      ops.push(`add ${formatCidr(a)}`);
      throw errno("EEXIST");
    },
    addrDel: (_i, a: IpNet) => {
      ops.push(`del ${formatCidr(a)}`);
      addrs = [];
    },
    linkSetMtu: (_i, mtu) => ops.push(`mtu ${mtu}`),
  };
  const isErrno = (err: unknown, ...codes: readonly string[]): boolean => codes.includes((err as { code?: string }).code ?? "");
  const r = syncBridge(rtnl, { name: "cbr0", addresses: [parseCidr("10.244.1.1/24")], mtu: 1460 }, isErrno);
  t.same(ops, ["del 10.244.9.1/24", "add 10.244.1.1/24", "mtu 1460"]);
  t.same(r, { present: true, changes: ["removed 10.244.9.1/24", "added 10.244.1.1/24", "mtu 1500 -> 1460"] });
  t.same(syncBridge(rtnl, { name: "cbr1", addresses: [], mtu: 1 }, isErrno), { present: false, changes: [] });
  const notBridge: BridgeRtnl = { ...rtnl, linkFind: () => link("cbr0", 1500, { kind: "veth" }) };
  t.throws(() => syncBridge(notBridge, { name: "cbr0", addresses: [], mtu: 1500 }, isErrno), { message: /exists but is a veth, not a bridge/ });
  const failing: BridgeRtnl = { ...rtnl, addrList: () => [], addrAdd: () => { throw errno("EPERM"); } };
  t.throws(() => syncBridge(failing, { name: "cbr0", addresses: [parseCidr("10.244.1.1/24")], mtu: 1500 }, isErrno), {
    message: 'Cannot add the gateway address 10.244.1.1/24 to "cbr0"',
  });
});

function fakeSysctl(values: Record<string, string>): SysctlIo & { writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    read: (name) => values[name],
    write: (name, value) => {
      writes.push(`${name}=${value}`);
      values[name] = `${value}\n`;
    },
  };
}

t.test("syncSysctls: writes only what differs; per family", async (t) => {
  t.same(desiredSysctls([4]).map((s) => s.name), ["net.bridge.bridge-nf-call-iptables", "net.ipv4.ip_forward"]);
  t.same(desiredSysctls([4, 6]).map((s) => s.name), [
    "net.bridge.bridge-nf-call-iptables", "net.ipv4.ip_forward", "net.bridge.bridge-nf-call-ip6tables", "net.ipv6.conf.all.forwarding",
  ]);
  const io = fakeSysctl({ "net.bridge.bridge-nf-call-iptables": "1\n", "net.ipv4.ip_forward": "0\n" });
  const modprobe = async (): Promise<void> => {
    t.fail("br_netfilter is present: no modprobe");
  };
  t.same(await syncSysctls(io, desiredSysctls([4]), modprobe), { written: ["net.ipv4.ip_forward"], brNetfilter: "loaded", problems: [] });
  t.same(await syncSysctls(io, desiredSysctls([4]), modprobe), { written: [], brNetfilter: "loaded", problems: [] }, "second run: no writes");
  t.same(io.writes, ["net.ipv4.ip_forward=1"]);
});

t.test("syncSysctls: br_netfilter missing => modprobe; failure reported, other settings still applied", async (t) => {
  const values: Record<string, string> = { "net.ipv4.ip_forward": "0" };
  const io = fakeSysctl(values);
  const loaded = await syncSysctls(io, desiredSysctls([4]), async () => {
    values["net.bridge.bridge-nf-call-iptables"] = "0";
  });
  t.same(loaded, { written: ["net.bridge.bridge-nf-call-iptables", "net.ipv4.ip_forward"], brNetfilter: "modprobed", problems: [] });
  const io2 = fakeSysctl({ "net.ipv4.ip_forward": "0" });
  const missing = await syncSysctls(io2, desiredSysctls([4]), () => Promise.reject(new Error("modprobe: not found")));
  t.equal(missing.brNetfilter, "missing");
  t.same(missing.written, ["net.ipv4.ip_forward"]);
  t.match(missing.problems, [/br_netfilter is not loaded and modprobe failed \(modprobe: not found\)/]);
});
