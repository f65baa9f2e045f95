// The koffi libc binding (no root): it loads lazily, calls succeed, and a failing call becomes a SysError
// carrying the errno read right after it.
import t from "tap";
import * as libc from "./libc.js";
import { SysError } from "./sys-error.js";

t.test("loads lazily and calls libc", async (t) => {
  t.equal(libc.getpid(), process.pid);
  t.ok(libc.isLoaded());
  t.equal(libc.gettid(), process.pid, "JavaScript runs on the main thread, whose tid is the pid");
});

t.test("a failing call throws SysError with the errno of that call", async (t) => {
  const e1 = t.throws(() => libc.socket(12345, libc.SOCK_RAW, 0));
  t.ok(e1 instanceof SysError);
  t.match(e1, { syscall: "socket", code: "EAFNOSUPPORT", errno: 97 });
  const e2 = t.throws(() => libc.close(987654));
  t.match(e2, { syscall: "close", code: "EBADF" });
  const e3 = t.throws(() => libc.setns(987654, libc.CLONE_NEWNET, "test"));
  t.match(e3, { syscall: "setns", code: "EBADF" });
  t.match((e3 as Error).message, /setns \(test\) failed: Bad file descriptor \(EBADF\)/);
});

t.test("a netlink socket: bind, getsockname, setsockopt, receive timeout as EAGAIN", async (t) => {
  const fd = libc.socket(libc.AF_NETLINK, libc.SOCK_RAW | libc.SOCK_CLOEXEC, 0);
  t.teardown(() => libc.close(fd));
  const addr = new Uint8Array(12);
  new DataView(addr.buffer).setUint16(0, libc.AF_NETLINK, true);
  libc.bind(fd, addr);
  const bound = libc.getsockname(fd, 12);
  t.equal(bound.length, 12);
  t.equal(new DataView(bound.buffer).getUint16(0, true), libc.AF_NETLINK);
  t.ok(new DataView(bound.buffer).getUint32(4, true) > 0, "the kernel assigned a port id");
  const e = t.throws(() => libc.recvfrom(fd, new Uint8Array(64), libc.MSG_DONTWAIT));
  t.match(e, { syscall: "recvfrom", code: "EAGAIN" });
  t.throws(() => libc.setsockopt(fd, libc.SOL_NETLINK, 9999, new Uint8Array(4)), SysError);
});
