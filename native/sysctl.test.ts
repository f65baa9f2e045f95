// sysctl names -> /proc/sys paths (no root; reading a harmless parameter of our own namespace).
import t from "tap";
import { readSysctl, sysctlPath } from "./sysctl.js";

t.test("dotted and slash names", async (t) => {
  t.equal(sysctlPath("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  t.equal(sysctlPath("net/ipv4/ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  t.equal(sysctlPath("/proc/sys/net/ipv4/ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  // An interface name with a dot: only the slash form is unambiguous, and it is taken verbatim.
  t.equal(sysctlPath("net/ipv4/conf/eth0.1/arp_notify"), "/proc/sys/net/ipv4/conf/eth0.1/arp_notify");
  t.equal(sysctlPath("net.ipv6.conf.all.disable_ipv6"), "/proc/sys/net/ipv6/conf/all/disable_ipv6");
});

t.test("bad names are rejected", async (t) => {
  for (const bad of ["", ".", "net..ipv4", "net/../../etc/passwd", "net/ipv4/", "net.ipv4.", "a\0b"]) {
    t.throws(() => sysctlPath(bad), RangeError, JSON.stringify(bad));
  }
});

t.test("read", async (t) => {
  t.match(readSysctl("kernel.ostype"), /^Linux$/);
  const err = t.throws(() => readSysctl("net.ipv4.no_such_parameter"));
  t.match(err, { code: "ENOENT", syscall: "read" });
});
