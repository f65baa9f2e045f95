// Kernel tests of native/sysctl inside throwaway namespaces (checked against sysctl(8) run in the namespace).
import t from "tap";
import { openRtnl, readSysctl, writeSysctl } from "../../native/index.js";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";

t.test("read and write a per-namespace parameter by dotted and slash name", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const own = readSysctl("net.ipv4.ip_forward");
  t.equal(readSysctl("net.ipv4.ip_forward", { netnsPath: ns.path }), "0");
  writeSysctl("net.ipv4.ip_forward", 1, { netnsPath: ns.path });
  t.equal(readSysctl("net/ipv4/ip_forward", { netnsPath: ns.path }), "1");
  t.equal(ns.exec("sysctl", ["-n", "net.ipv4.ip_forward"]).trim(), "1", "sysctl(8) in the namespace agrees");
  t.equal(readSysctl("net.ipv4.ip_forward"), own, "our own namespace is untouched");
  writeSysctl("net/ipv6/conf/all/disable_ipv6", "1", { netnsPath: ns.path });
  t.equal(ns.exec("sysctl", ["-n", "net.ipv6.conf.all.disable_ipv6"]).trim(), "1");
});

t.test("an interface name with a dot needs the slash form", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  rtnl.linkAddBridge({ name: "br.1" });
  writeSysctl("net/ipv4/conf/br.1/arp_notify", "1", { netnsPath: ns.path });
  t.equal(readSysctl("net/ipv4/conf/br.1/arp_notify", { netnsPath: ns.path }), "1");
  t.equal(ns.exec("cat", ["/proc/sys/net/ipv4/conf/br.1/arp_notify"]).trim(), "1");
  // The dotted form reads as net/ipv4/conf/br/1/arp_notify, which does not exist.
  t.match(t.throws(() => readSysctl("net.ipv4.conf.br.1.arp_notify", { netnsPath: ns.path })), { code: "ENOENT" });
});

t.test("errors: unknown parameter, bad value", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const e1 = t.throws(() => writeSysctl("net.ipv4.no_such_thing", "1", { netnsPath: ns.path }));
  t.match(e1, { code: "ENOENT", syscall: "open" });
  t.match((e1 as Error).message, /net\.ipv4\.no_such_thing/);
  const e2 = t.throws(() => writeSysctl("net.ipv4.ip_forward", "banana", { netnsPath: ns.path }));
  t.match(e2, { code: "EINVAL", syscall: "write" });
});
