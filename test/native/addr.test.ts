// Kernel tests of the address operations of native/ in throwaway namespaces (our decoder + `ip -j`).
import t from "tap";
import { formatCidr, formatIp } from "../../core/ip.js";
import { parseCidr, parseIp } from "../../core/ip-parse.js";
import { IFA_F_NODAD, NetlinkError, RT_SCOPE_LINK, isErrno, openRtnl } from "../../native/index.js";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { ipAddrs } from "./oracle.js";

t.test("IPv4: add (with the computed broadcast), EEXIST, replace, list, delete, EADDRNOTAVAIL", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const br = rtnl.linkAddBridge({ name: "cbr0" });

  rtnl.addrAdd(br.index, parseCidr("10.244.0.1/24"));
  const [a] = rtnl.addrList({ index: br.index, family: 4 });
  t.equal(a && formatCidr(a.address), "10.244.0.1/24");
  t.equal(a?.family, 4);
  t.equal(a?.index, br.index);
  t.equal(a?.label, "cbr0");
  const [o] = ipAddrs(ns, "cbr0").filter((x) => x.family === "inet");
  t.equal(o?.local, "10.244.0.1");
  t.equal(o?.prefixlen, 24);
  t.equal(o?.broadcast, "10.244.0.255", "IFA_BROADCAST computed like `brd +`");
  t.equal(o?.scope, "global");

  const dup = t.throws(() => rtnl.addrAdd(br.index, parseCidr("10.244.0.1/24")));
  t.ok(dup instanceof NetlinkError && dup.code === "EEXIST" && dup.op === "RTM_NEWADDR", String(dup));

  rtnl.addrReplace(br.index, parseCidr("10.244.0.1/24"));
  // A second subnet: in the same subnet as a global primary, the kernel insists on the same scope (EINVAL).
  rtnl.addrReplace(br.index, parseCidr("10.245.0.2/24"), { broadcast: "none", scope: RT_SCOPE_LINK });
  const all = rtnl.addrList({ index: br.index, family: 4 }).map((x) => formatCidr(x.address));
  t.same(all.sort(), ["10.244.0.1/24", "10.245.0.2/24"]);
  const second = ipAddrs(ns, "cbr0").find((x) => x.local === "10.245.0.2");
  t.equal(second?.broadcast, undefined, "brd none");
  t.equal(second?.scope, "link");

  rtnl.addrDel(br.index, parseCidr("10.244.0.1/24"));
  t.same(ipAddrs(ns, "cbr0").filter((x) => x.family === "inet").map((x) => x.local), ["10.245.0.2"]);
  const missing = t.throws(() => rtnl.addrDel(br.index, parseCidr("10.244.0.1/24")));
  t.ok(missing instanceof NetlinkError && missing.code === "EADDRNOTAVAIL" && missing.op === "RTM_DELADDR", String(missing));
});

t.test("IPv6: add with nodad, list, delete", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const br = rtnl.linkAddBridge({ name: "cbr0" });
  rtnl.linkSetUp(br.index);

  rtnl.addrAdd(br.index, parseCidr("fd00:10::1/64"), { flags: IFA_F_NODAD });
  const ours = rtnl.addrList({ index: br.index, family: 6 }).find((x) => formatIp(x.address.addr) === "fd00:10::1");
  t.ok(ours);
  t.equal(ours?.address.prefixLen, 64);
  t.ok(((ours?.flags ?? 0) & IFA_F_NODAD) !== 0, "IFA_F_NODAD reported");
  const o = ipAddrs(ns, "cbr0").find((x) => x.local === "fd00:10::1");
  t.equal(o?.prefixlen, 64);
  t.equal(o?.nodad, true);

  t.ok(isErrno(t.throws(() => rtnl.addrAdd(br.index, parseCidr("fd00:10::1/64"))), "EEXIST"));
  rtnl.addrDel(br.index, parseCidr("fd00:10::1/64"));
  t.equal(ipAddrs(ns, "cbr0").find((x) => x.local === "fd00:10::1"), undefined);
  t.ok(isErrno(t.throws(() => rtnl.addrDel(br.index, parseCidr("fd00:10::1/64"))), "EADDRNOTAVAIL"));
});

t.test("addrList: filters, and matches ip -j for every link", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const a = rtnl.linkAddBridge({ name: "ba" });
  const b = rtnl.linkAddBridge({ name: "bb" });
  rtnl.addrAdd(a.index, parseCidr("192.168.1.1/24"));
  rtnl.addrAdd(b.index, parseCidr("192.168.2.1/24"));
  rtnl.addrAdd(b.index, parseCidr("fd00:2::1/64"), { flags: IFA_F_NODAD });
  t.same(rtnl.addrList({ index: a.index }).map((x) => formatCidr(x.address)), ["192.168.1.1/24"]);
  t.same(rtnl.addrList({ index: b.index, family: 6 }).map((x) => formatCidr(x.address)), ["fd00:2::1/64"]);
  const all = rtnl.addrList().map((x) => `${x.index} ${formatCidr(x.address)}`).sort();
  t.ok(all.includes("1 127.0.0.1/8"));
  t.ok(all.includes("1 ::1/128"));
  for (const [name, link] of [["ba", a], ["bb", b]] as const) {
    const ours = rtnl.addrList({ index: link.index }).map((x) => formatCidr(x.address)).sort();
    const theirs = ipAddrs(ns, name).map((x) => `${x.local}/${x.prefixlen}`).sort();
    t.same(ours, theirs, name);
  }
  // An address on a missing link: ENODEV.
  t.ok(isErrno(t.throws(() => rtnl.addrAdd(4242, parseCidr("10.1.1.1/24"))), "ENODEV"));
  void parseIp;
});
