// Kernel tests of the link operations of native/ (rtnetlink through koffi) in throwaway namespaces.
// Every state change is checked with our decoder and with `ip -j` as the independent oracle.
import t from "tap";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import {
  IFF_UP,
  NetlinkError,
  NetnsNotFoundError,
  SysError,
  isErrno,
  openNetns,
  openRtnl,
} from "../../native/index.js";
import { ipLink, ipLinks } from "./oracle.js";

t.test("bridge: add with MTU and MAC, read back, EEXIST on a second add", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  t.equal(rtnl.netnsPath, ns.path);

  const br = rtnl.linkAddBridge({ name: "cbr0", mtu: 1460, mac: "0a:58:0a:f4:00:01" });
  t.equal(br.name, "cbr0");
  t.equal(br.kind, "bridge");
  t.equal(br.mtu, 1460);
  t.equal(br.mac, "0a:58:0a:f4:00:01");
  t.equal(br.up, false);
  t.ok(br.index > 1);

  const got = rtnl.linkGet("cbr0");
  t.equal(got.index, br.index);
  t.same(rtnl.linkGetByIndex(br.index).name, "cbr0");
  const oracle = ipLink(ns, "cbr0");
  t.equal(oracle?.ifindex, br.index);
  t.equal(oracle?.mtu, 1460);
  t.equal(oracle?.address, "0a:58:0a:f4:00:01");
  t.equal(oracle?.linkinfo?.info_kind, "bridge");

  const err = t.throws(() => rtnl.linkAddBridge({ name: "cbr0" }));
  t.ok(err instanceof NetlinkError, "a NetlinkError");
  t.ok(err instanceof SysError, "which is a SysError");
  if (err instanceof NetlinkError) {
    t.equal(err.code, "EEXIST");
    t.equal(err.errno, 17);
    t.equal(err.op, "RTM_NEWLINK");
    t.match(err.message, /cbr0/);
  }
  t.ok(isErrno(err, "EEXIST"));
});

t.test("missing links: ENODEV from get and del, undefined from find", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  t.equal(rtnl.linkFind("nope0"), undefined);
  t.equal(rtnl.linkFindByIndex(4242), undefined);
  const e1 = t.throws(() => rtnl.linkGet("nope0"));
  t.ok(e1 instanceof NetlinkError && e1.code === "ENODEV" && e1.op === "RTM_GETLINK");
  const e2 = t.throws(() => rtnl.linkDel(4242));
  t.ok(e2 instanceof NetlinkError && e2.code === "ENODEV" && e2.op === "RTM_DELLINK", "linkDel of a missing index: ENODEV");
  t.ok(isErrno(e2, "ENODEV"));
});

t.test("kernel extended ACK text reaches the error", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const br = rtnl.linkAddBridge({ name: "br-x" });
  const err = t.throws(() => rtnl.linkSetMtu(br.index, 10));
  t.ok(err instanceof NetlinkError);
  if (err instanceof NetlinkError) {
    t.equal(err.code, "EINVAL");
    t.equal(err.op, "RTM_SETLINK");
    t.match(err.extAck ?? "", /MTU/i, `extAck: ${err.extAck}`);
    t.match(err.message, /MTU/i);
  }
});

t.test("veth: peer created directly in another namespace under its final name", { skip: KERNEL_SKIP }, async (t) => {
  const host = createNetns(t, "host");
  const ctr = createNetns(t, "ctr");
  const hostRtnl = openRtnl({ netnsPath: host.path });
  const ctrRtnl = openRtnl({ netnsPath: ctr.path });
  const ctrNs = openNetns(ctr.path);
  t.teardown(() => {
    hostRtnl.close();
    ctrRtnl.close();
    ctrNs.close();
  });
  // Make the indexes differ between the namespaces, so IFLA_LINK is always reported.
  hostRtnl.linkAddBridge({ name: "pad0" });

  const veth = hostRtnl.linkAddVeth({
    name: "veth1234",
    mtu: 1400,
    mac: "02:00:00:00:00:0a",
    peerName: "eth0",
    peerMac: "02:00:00:00:00:0b",
    peerNetnsFd: ctrNs.fd,
  });
  t.equal(veth.name, "veth1234");
  t.equal(veth.kind, "veth");
  t.equal(veth.mtu, 1400);
  t.equal(veth.mac, "02:00:00:00:00:0a");
  t.not(veth.linkNetnsId, undefined, "the peer lives in another namespace (IFLA_LINK_NETNSID)");

  const peer = ctrRtnl.linkGet("eth0");
  t.equal(peer.kind, "veth");
  t.equal(peer.mtu, 1400, "peer MTU defaults to the MTU");
  t.equal(peer.mac, "02:00:00:00:00:0b");
  t.equal(veth.parentIndex, peer.index, "IFLA_LINK of the host end = ifindex of the peer");
  t.equal(peer.parentIndex, veth.index);
  t.equal(hostRtnl.linkFind("eth0"), undefined, "no peer in the host namespace");

  const oracle = ipLink(ctr, "eth0");
  t.equal(oracle?.ifindex, peer.index);
  t.equal(oracle?.mtu, 1400);
  t.equal(oracle?.linkinfo?.info_kind, "veth");
  t.equal(ipLink(host, "veth1234")?.link_netnsid, veth.linkNetnsId);

  // Same name again: EEXIST (the host end exists).
  const err = t.throws(() => hostRtnl.linkAddVeth({ name: "veth1234", peerName: "eth9", peerNetnsFd: ctrNs.fd }));
  t.ok(isErrno(err, "EEXIST"));
  // Peer name taken in the container: EEXIST too, and nothing is left behind in the host.
  const err2 = t.throws(() => hostRtnl.linkAddVeth({ name: "veth5678", peerName: "eth0", peerNetnsFd: ctrNs.fd }));
  t.ok(isErrno(err2, "EEXIST"), `peer name taken: ${String(err2)}`);
  t.equal(hostRtnl.linkFind("veth5678"), undefined);

  // Deleting one end deletes the pair.
  hostRtnl.linkDel(veth.index);
  t.equal(ctrRtnl.linkFind("eth0"), undefined);
  t.equal(ipLink(ctr, "eth0"), undefined);
});

t.test("veth in the same namespace", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const a = rtnl.linkAddVeth({ name: "va", peerName: "vb" });
  const b = rtnl.linkGet("vb");
  t.equal(a.parentIndex, b.index);
  t.equal(b.parentIndex, a.index);
  t.equal(a.linkNetnsId, undefined);
  t.same(ipLink(ns, "vb")?.link, "va");
});

t.test("set up/down, master/nomaster, MTU, name, MAC, promisc", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const br = rtnl.linkAddBridge({ name: "br0" });
  const v = rtnl.linkAddVeth({ name: "v0", peerName: "v0p" });

  rtnl.linkSetUp(br.index);
  t.equal(rtnl.linkGet("br0").up, true);
  t.ok((rtnl.linkGet("br0").flags & IFF_UP) !== 0);
  t.ok(ipLink(ns, "br0")?.flags.includes("UP"));
  rtnl.linkSetDown(br.index);
  t.equal(rtnl.linkGet("br0").up, false);
  t.notOk(ipLink(ns, "br0")?.flags.includes("UP"));

  rtnl.linkSetMaster(v.index, br.index);
  t.equal(rtnl.linkGet("v0").master, br.index);
  t.equal(ipLink(ns, "v0")?.master, "br0");
  rtnl.linkSetMaster(v.index, 0);
  t.equal(rtnl.linkGet("v0").master, undefined);
  t.equal(ipLink(ns, "v0")?.master, undefined);

  rtnl.linkSetMtu(v.index, 1280);
  t.equal(rtnl.linkGet("v0").mtu, 1280);
  t.equal(ipLink(ns, "v0")?.mtu, 1280);

  rtnl.linkSetMac(v.index, "02:AA:bb:cc:dd:ee");
  t.equal(rtnl.linkGet("v0").mac, "02:aa:bb:cc:dd:ee");
  t.equal(ipLink(ns, "v0")?.address, "02:aa:bb:cc:dd:ee");

  rtnl.linkSetPromisc(v.index, true);
  t.equal(rtnl.linkGet("v0").promisc, true);
  t.ok(ipLink(ns, "v0")?.flags.includes("PROMISC"));
  t.equal(ipLink(ns, "v0")?.promiscuity, 1);
  rtnl.linkSetPromisc(v.index, false);
  t.equal(rtnl.linkGet("v0").promisc, false);
  t.equal(ipLink(ns, "v0")?.promiscuity, 0);

  rtnl.linkSetName(v.index, "v0-renamed");
  t.equal(rtnl.linkGetByIndex(v.index).name, "v0-renamed");
  t.ok(ipLink(ns, "v0-renamed"));
  t.equal(ipLink(ns, "v0"), undefined);

  // Taken name: EEXIST.
  t.ok(isErrno(t.throws(() => rtnl.linkSetName(v.index, "br0")), "EEXIST"));
});

t.test("alias: set, read back, remove", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const v = rtnl.linkAddVeth({ name: "va0", peerName: "va0p" });
  t.equal(v.alias, undefined);
  rtnl.linkSetAlias(v.index, "kubenet:0123abcd:eth0");
  t.equal(rtnl.linkGet("va0").alias, "kubenet:0123abcd:eth0");
  t.equal(rtnl.linkList().find((l) => l.name === "va0")?.alias, "kubenet:0123abcd:eth0");
  t.equal(ipLink(ns, "va0")?.ifalias, "kubenet:0123abcd:eth0");
  rtnl.linkSetAlias(v.index, "");
  t.equal(rtnl.linkGet("va0").alias, undefined);
  t.equal(ipLink(ns, "va0")?.ifalias, undefined);
});

t.test("hairpin on a bridge port: set via AF_BRIDGE, reported by the plain link dump", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const br = rtnl.linkAddBridge({ name: "cbr0" });
  const v = rtnl.linkAddVeth({ name: "vh", peerName: "vhp" });
  t.equal(v.hairpin, undefined, "not a bridge port: no hairpin state");
  rtnl.linkSetMaster(v.index, br.index);
  t.equal(rtnl.linkGet("vh").hairpin, false);

  rtnl.linkSetHairpin(v.index, true);
  t.equal(rtnl.linkGet("vh").hairpin, true);
  t.equal(rtnl.linkList().find((l) => l.name === "vh")?.hairpin, true, "linkList reports it too");
  t.equal(ipLink(ns, "vh")?.linkinfo?.info_slave_data?.hairpin, true);

  rtnl.linkSetHairpin(v.index, false);
  t.equal(rtnl.linkGet("vh").hairpin, false);
  t.equal(ipLink(ns, "vh")?.linkinfo?.info_slave_data?.hairpin, false);

  // Not a bridge port.
  const e = t.throws(() => rtnl.linkSetHairpin(rtnl.linkGet("vhp").index, true));
  t.ok(e instanceof NetlinkError, `not a port: ${String(e)}`);
});

t.test("move a link to another namespace by fd", { skip: KERNEL_SKIP }, async (t) => {
  const a = createNetns(t);
  const b = createNetns(t);
  const ra = openRtnl({ netnsPath: a.path });
  const rb = openRtnl({ netnsPath: b.path });
  const bFd = openNetns(b.path);
  t.teardown(() => {
    ra.close();
    rb.close();
    bFd.close();
  });
  const v = ra.linkAddVeth({ name: "mv0", peerName: "mv0p" });
  ra.linkSetNetns(v.index, bFd.fd);
  t.equal(ra.linkFind("mv0"), undefined);
  // The ifindex may change in the new namespace: always look it up by name there.
  const moved = rb.linkGet("mv0");
  t.equal(moved.kind, "veth");
  t.ok(ipLink(b, "mv0"));
  t.equal(ipLink(a, "mv0"), undefined);
});

t.test("linkList matches ip -j link show", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  rtnl.linkAddBridge({ name: "b1" });
  rtnl.linkAddVeth({ name: "x1", peerName: "x2" });
  const ours = rtnl.linkList().map((l) => [l.index, l.name, l.mtu, l.mac] as const);
  const theirs = ipLinks(ns).map((l) => [l.ifindex, l.ifname, l.mtu, l.address ?? ""] as const);
  t.same(ours, theirs);
  const lo = rtnl.linkGet("lo");
  t.equal(lo.index, 1);
  t.equal(lo.kind, undefined);
  t.equal(lo.up, true);
});

t.test("opening a handle in a missing namespace names the path", { skip: KERNEL_SKIP }, async (t) => {
  const err = t.throws(() => openRtnl({ netnsPath: "/run/netns/does-not-exist" }));
  t.ok(err instanceof NetnsNotFoundError);
  if (err instanceof NetnsNotFoundError) {
    t.equal(err.code, "ENOENT");
    t.equal(err.path, "/run/netns/does-not-exist");
    t.match(err.message, /\/run\/netns\/does-not-exist/);
  }
});
