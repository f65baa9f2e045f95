// The errno table (asm-generic, shared by x86_64 and aarch64), SysError and isErrno.
import t from "tap";
import { readFileSync } from "node:fs";
import { SysError, errnoDescription, errnoName, errnoNumber, isErrno, sysErrorFromNode } from "./sys-error.js";

t.test("errno names and numbers", async (t) => {
  const expected: [number, string][] = [
    [1, "EPERM"],
    [2, "ENOENT"],
    [3, "ESRCH"],
    [4, "EINTR"],
    [11, "EAGAIN"],
    [13, "EACCES"],
    [16, "EBUSY"],
    [17, "EEXIST"],
    [19, "ENODEV"],
    [22, "EINVAL"],
    [25, "ENOTTY"],
    [34, "ERANGE"],
    [71, "EPROTO"],
    [95, "EOPNOTSUPP"],
    [98, "EADDRINUSE"],
    [99, "EADDRNOTAVAIL"],
    [101, "ENETUNREACH"],
    [105, "ENOBUFS"],
    [110, "ETIMEDOUT"],
    [113, "EHOSTUNREACH"],
    [133, "EHWPOISON"],
    [524, "ENOTSUPP"],
  ];
  for (const [n, name] of expected) {
    t.equal(errnoName(n), name, `${n}`);
    t.equal(errnoNumber(name), n, name);
  }
  t.equal(errnoNumber("EWOULDBLOCK"), 11);
  t.equal(errnoNumber("ENOTSUP"), 95);
  t.equal(errnoName(9999), "E9999");
  t.equal(errnoNumber("ENOPE"), undefined);
  t.equal(errnoDescription(17), "File exists");
  t.equal(errnoDescription(9999), "Unknown error 9999");
});

t.test("SysError: errno, code, syscall, message", async (t) => {
  const e = new SysError("setns", 1, 'entering "/run/netns/x"');
  t.ok(e instanceof Error);
  t.equal(e.name, "SysError");
  t.equal(e.errno, 1);
  t.equal(e.code, "EPERM");
  t.equal(e.syscall, "setns");
  t.equal(e.message, 'setns (entering "/run/netns/x") failed: Operation not permitted (EPERM)');
  t.equal(new SysError("socket", 97).message, "socket failed: Address family not supported by protocol (EAFNOSUPPORT)");
});

t.test("isErrno works for SysError and Node.js fs errors, never by message", async (t) => {
  t.ok(isErrno(new SysError("x", 17), "EEXIST"));
  t.ok(isErrno(new SysError("x", 17), "ENOENT", "EEXIST"));
  t.notOk(isErrno(new SysError("x", 17), "ENOENT"));
  let fsErr: unknown;
  try {
    readFileSync("/nonexistent/kubenet-ts");
  } catch (err) {
    fsErr = err;
  }
  t.ok(isErrno(fsErr, "ENOENT"));
  t.notOk(isErrno(new Error("EEXIST"), "EEXIST"));
  t.notOk(isErrno(undefined, "EEXIST"));
  const converted = sysErrorFromNode(fsErr, "open", "/nonexistent/kubenet-ts");
  t.ok(converted instanceof SysError);
  t.equal((converted as SysError).code, "ENOENT");
  t.equal((converted as SysError).cause, fsErr);
});
