// waitFileLock (no root): a fair wait for a flock lock. Waiters queue in the kernel (checked in /proc/locks,
// no sleeps) and get the lock in the order they asked; a wait that times out never ends up holding the lock
// when it arrives later; separate opens conflict inside one process; the reference's blocking waiters (the
// flock(1) command here) share the same queue.
import t from "tap";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LockTimeoutError, acquireFileLock, waitFileLock } from "./file-lock.js";
import { SysError } from "./ffi/sys-error.js";

const dir = mkdtempSync(join(tmpdir(), "kubenet-lockwait-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Lines of /proc/locks for `path`'s inode: holders and (with "->") blocked waiters. */
function locksOn(path: string): { held: number; waiting: number } {
  const ino = statSync(path).ino;
  const lines = readFileSync("/proc/locks", "utf8").split("\n").filter((l) => new RegExp(`:${ino} `).test(l));
  return { held: lines.filter((l) => !l.includes("->")).length, waiting: lines.filter((l) => l.includes("->")).length };
}

/** Resolves once `path` has `n` blocked waiters (polls /proc/locks: the state, not a guess at timing). */
async function waitersQueued(path: string, n: number): Promise<void> {
  while (locksOn(path).waiting < n) await new Promise((r) => setTimeout(r, 5));
}

function holdWithFlockCommand(t: { teardown(fn: () => void): void }, path: string): Promise<ChildProcess> {
  const child = spawn("flock", ["-x", path, "-c", "echo locked; exec sleep 600"], { stdio: ["ignore", "pipe", "inherit"], detached: true });
  t.teardown(() => killGroup(child));
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve(child));
    child.once("error", reject);
  });
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone
  }
}

t.test("a free lock is taken at once; release is idempotent", async (t) => {
  const path = join(dir, "free");
  const lock = await waitFileLock(path, { timeoutMs: 0, mode: 0o640 });
  t.equal(locksOn(path).held, 1);
  lock.release();
  lock.release();
  t.equal(lock.released, true);
  t.equal(locksOn(path).held, 0);
});

t.test("waiters are served in the order they asked (kernel queue, no polling)", async (t) => {
  const path = join(dir, "fifo");
  const first = await waitFileLock(path, { timeoutMs: 0 });
  const order: string[] = [];
  const waiters: Promise<void>[] = [];
  const names = ["a", "b", "c"]; // at most the pool's 4 threads, so every waiter is in the kernel at once
  for (const [i, name] of names.entries()) {
    waiters.push(
      waitFileLock(path, { timeoutMs: 600_000 }).then((lock) => {
        order.push(name);
        lock.release();
      }),
    );
    await waitersQueued(path, i + 1); // the next one asks only once this one is queued
  }
  t.same(order, [], "nobody got a held lock");
  first.release();
  await Promise.all(waiters);
  t.same(order, names, "first come, first served");
  t.equal(locksOn(path).held, 0, "nothing held afterwards");
});

t.test("separate opens conflict inside one process (as two requests of one service would)", async (t) => {
  const path = join(dir, "self");
  const a = await waitFileLock(path, { timeoutMs: 0 });
  await t.rejects(waitFileLock(path, { timeoutMs: 0 }), LockTimeoutError);
  t.throws(() => acquireFileLock(path, { timeoutMs: 0 }), LockTimeoutError, "the polling variant agrees");
  a.release();
  (await waitFileLock(path, { timeoutMs: 0 })).release();
});

t.test("a wait that timed out releases the lock the moment it arrives late: never held", async (t) => {
  const path = join(dir, "late");
  const holder = await holdWithFlockCommand(t, path);
  const err = await waitFileLock(path, { timeoutMs: 100 }).catch((e: unknown) => e);
  t.ok(err instanceof LockTimeoutError && err instanceof SysError, "LockTimeoutError (a SysError, EAGAIN)");
  if (err instanceof LockTimeoutError) {
    t.equal(err.timeoutMs, 100);
    t.equal(err.code, "EAGAIN");
  }
  t.equal(locksOn(path).waiting, 1, "the abandoned request still waits in the kernel");
  killGroup(holder);
  // The pending call gets the lock and must drop it at once: the next waiter must get it without a timeout.
  const next = await waitFileLock(path, { timeoutMs: 600_000 });
  t.pass("the lock came free: the late arrival released it");
  next.release();
  while (locksOn(path).held + locksOn(path).waiting > 0) await new Promise((r) => setTimeout(r, 5));
  t.pass("nothing held or pending afterwards");
});

t.test("the reference's blocking waiters queue with ours", async (t) => {
  const path = join(dir, "mixed");
  const first = await waitFileLock(path, { timeoutMs: 0 });
  const order: string[] = [];
  const ours1 = waitFileLock(path, { timeoutMs: 600_000 }).then((l) => (order.push("ours1"), l.release()));
  await waitersQueued(path, 1);
  // flock(1) blocks in flock(LOCK_EX) like go-filemutex does.
  const go = spawn("flock", ["-x", path, "-c", "echo go"], { stdio: ["ignore", "pipe", "inherit"] });
  const goDone = new Promise<void>((r) => go.stdout?.once("data", () => (order.push("go"), r())));
  await waitersQueued(path, 2);
  const ours2 = waitFileLock(path, { timeoutMs: 600_000 }).then((l) => (order.push("ours2"), l.release()));
  await waitersQueued(path, 3);
  first.release();
  await Promise.all([ours1, goDone, ours2]);
  t.same(order, ["ours1", "go", "ours2"]);
});

t.test("errors: unopenable path (SysError naming it), bad timeout", async (t) => {
  const err = await waitFileLock(join(dir, "no-such-dir", "lock"), { timeoutMs: 0 }).catch((e: unknown) => e);
  t.ok(err instanceof SysError);
  t.match((err as Error).message, /no-such-dir/);
  await t.rejects(waitFileLock(join(dir, "x"), { timeoutMs: -1 }), RangeError);
});
