// Kernel tests of native/netns: handles by path, errors that name the path, withNetnsSync always bringing
// the thread home (compared by namespace inode), and sockets that stay bound to the namespace they were
// opened in.
import t from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  NetnsNotFoundError,
  NotNetnsError,
  currentNetns,
  openNetns,
  openRtnl,
  readSysctl,
  withNetnsSync,
} from "../../native/index.js";
import { openKernelTransport } from "../../native/netlink/socket.js";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";

function inode(): number {
  const h = currentNetns();
  try {
    return h.inode;
  } finally {
    h.close();
  }
}

t.test("openNetns: a handle with fd and inode; the same namespace by two paths has one inode", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const h = openNetns(ns.path);
  t.teardown(() => h.close());
  t.equal(h.path, ns.path);
  t.ok(h.fd > 2);
  t.not(h.inode, inode(), "not our own namespace");
  const inside = withNetnsSync(h, () => inode());
  t.equal(inside, h.inode, "withNetnsSync enters exactly that namespace");
  h.close();
  h.close();
});

t.test("openNetns / openRtnl on a missing path: NetnsNotFoundError naming it", { skip: KERNEL_SKIP }, async (t) => {
  const before = inode();
  const e1 = t.throws(() => openNetns("/run/netns/missing-ns"));
  t.ok(e1 instanceof NetnsNotFoundError);
  t.match(e1, { code: "ENOENT", errno: 2, path: "/run/netns/missing-ns" });
  t.match((e1 as Error).message, "/run/netns/missing-ns");
  const e2 = t.throws(() => openRtnl({ netnsPath: "/run/netns/missing-ns" }));
  t.ok(e2 instanceof NetnsNotFoundError);
  t.match((e2 as Error).message, "/run/netns/missing-ns");
  t.equal(inode(), before, "the thread never left");
});

t.test("a path that is not a network namespace is refused", { skip: KERNEL_SKIP }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kubenet-netns-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "plain");
  writeFileSync(file, "");
  const e1 = t.throws(() => openNetns(file));
  t.ok(e1 instanceof NotNetnsError);
  t.match(e1, { code: "EINVAL", path: file });
  const e2 = t.throws(() => openNetns("/proc/self/ns/uts"));
  t.ok(e2 instanceof NotNetnsError, "a UTS namespace is not a network namespace");
  t.match((e2 as Error).message, /another type/);
  const e3 = t.throws(() => openRtnl({ netnsPath: file }));
  t.ok(e3 instanceof NotNetnsError);
});

t.test("withNetnsSync: back home after a callback that throws", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const before = inode();
  let seen = 0;
  const err = t.throws(() =>
    withNetnsSync(ns.path, () => {
      seen = inode();
      throw new Error("boom");
    }),
  );
  t.match(err, { message: "boom" });
  t.not(seen, before, "the callback ran inside the other namespace");
  t.equal(inode(), before, "and the thread came back");
  t.equal(
    withNetnsSync(ns.path, () => 42),
    42,
  );
  t.equal(inode(), before);
});

t.test("withNetnsSync rejects async callbacks and returned promises, and still comes home", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const before = inode();
  let ran = false;
  t.throws(
    () =>
      withNetnsSync(ns.path, async () => {
        ran = true;
      }),
    TypeError,
  );
  t.equal(ran, false, "an async function is refused before entering");
  t.throws(() => withNetnsSync(ns.path, () => Promise.resolve(1)), TypeError);
  t.throws(() => withNetnsSync(ns.path, () => Promise.reject(new Error("late"))), TypeError, "no unhandled rejection");
  t.equal(inode(), before);
});

t.test("withNetnsSync nests and sees per-namespace /proc/sys", { skip: KERNEL_SKIP }, async (t) => {
  const a = createNetns(t);
  const b = createNetns(t);
  a.exec("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  const before = inode();
  const seen = withNetnsSync(a.path, () => {
    const inA = readSysctl("net.ipv4.ip_forward");
    const inB = withNetnsSync(b.path, () => readSysctl("net.ipv4.ip_forward"));
    return [inA, inB, readSysctl("net.ipv4.ip_forward")];
  });
  t.same(seen, ["1", "0", "1"]);
  t.equal(inode(), before);
});

t.test("a socket opened in a namespace stays bound to it", { skip: KERNEL_SKIP }, async (t) => {
  const a = createNetns(t);
  const b = createNetns(t);
  const before = inode();
  const ra = openRtnl({ netnsPath: a.path });
  const rb = openRtnl({ netnsPath: b.path });
  t.teardown(() => {
    ra.close();
    rb.close();
  });
  t.equal(inode(), before, "openRtnl returned the thread at once");
  ra.linkAddBridge({ name: "only-in-a" });
  t.ok(ra.linkFind("only-in-a"));
  t.equal(rb.linkFind("only-in-a"), undefined);
  t.equal(b.run("ip", ["link", "show", "only-in-a"]).status, 1, "ip in b does not see it");
  t.equal(a.run("ip", ["link", "show", "only-in-a"]).status, 0, "ip in a does");
});

t.test("the thread comes home when opening the socket inside the namespace fails", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const before = inode();
  // NETLINK protocol 31 does not exist: socket() fails while the thread is inside `ns`.
  const err = t.throws(() => withNetnsSync(ns.path, () => openKernelTransport(31, { timeoutMs: 1000 })));
  t.match(err, { syscall: "socket" });
  t.equal(inode(), before);
});
