// flock(2)-based file locks (no root): a lock held by another process (the flock(1) command) makes
// acquireFileLock time out with LockTimeoutError, and succeed once that process lets go.
import t from "tap";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LockTimeoutError, acquireFileLock } from "./file-lock.js";
import { SysError } from "./ffi/sys-error.js";

const dir = mkdtempSync(join(tmpdir(), "kubenet-lock-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `flock -x|-s FILE sleep 60` and resolves once it holds the lock. */
function holdWithFlockCommand(t: { teardown(fn: () => void): void }, path: string, shared = false): Promise<ChildProcess> {
  // Its own process group: the `sleep` child inherits the locked descriptor, so the whole group must go.
  const child = spawn("flock", [shared ? "-s" : "-x", path, "-c", "echo locked; exec sleep 60"], {
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  t.teardown(() => killGroup(child));
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve(child));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`flock exited early (${code})`)));
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

t.test("creates the lock file with the requested mode, locks, releases idempotently", async (t) => {
  const path = join(dir, "lock");
  const old = process.umask(0o022);
  try {
    const lock = acquireFileLock(path, { timeoutMs: 100, mode: 0o750 });
    t.equal(statSync(path).mode & 0o777, 0o750, "host-local's lock file mode");
    t.equal(lock.path, path);
    t.equal(lock.released, false);
    lock.release();
    t.equal(lock.released, true);
    lock.release();
    t.equal(lock.released, true);
    const def = acquireFileLock(join(dir, "lock-default"), { timeoutMs: 0 });
    t.equal(statSync(join(dir, "lock-default")).mode & 0o777, 0o600, "default mode 0600");
    def.release();
  } finally {
    process.umask(old);
  }
});

t.test("a lock held by another process: LockTimeoutError after the timeout, success once released", async (t) => {
  const path = join(dir, "held");
  const child = await holdWithFlockCommand(t, path);
  const err = t.throws(() => acquireFileLock(path, { timeoutMs: 150 }));
  t.ok(err instanceof LockTimeoutError);
  t.ok(err instanceof SysError);
  if (err instanceof LockTimeoutError) {
    t.equal(err.path, path);
    t.equal(err.timeoutMs, 150);
    t.equal(err.code, "EAGAIN");
    t.match(err.message, /150 ms/);
    t.match(err.message, path);
  }
  t.throws(() => acquireFileLock(path, { timeoutMs: 0 }), LockTimeoutError, "timeoutMs 0 tries once");
  // The kernel drops a flock lock when the last process holding the open file dies.
  killGroup(child);
  await exited(child);
  const lock = acquireFileLock(path, { timeoutMs: 2000 });
  t.pass("acquired after the holder died");
  lock.release();
});

t.test("waits for a holder that lets go within the timeout", async (t) => {
  const path = join(dir, "brief");
  const child = spawn("flock", ["-x", path, "-c", "echo locked; sleep 0.3"], { stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  await new Promise((resolve) => child.stdout?.once("data", resolve));
  // acquireFileLock blocks this thread: the child keeps running and exits on its own.
  const lock = acquireFileLock(path, { timeoutMs: 10_000 });
  t.pass("acquired");
  lock.release();
});

t.test("shared locks coexist; an exclusive one waits for them", async (t) => {
  const path = join(dir, "shared");
  await holdWithFlockCommand(t, path, true);
  const s1 = acquireFileLock(path, { timeoutMs: 100, shared: true });
  const s2 = acquireFileLock(path, { timeoutMs: 100, shared: true });
  t.throws(() => acquireFileLock(path, { timeoutMs: 50 }), LockTimeoutError);
  s1.release();
  s2.release();
});

t.test("two locks in one process conflict too (flock locks belong to the open file)", async (t) => {
  const path = join(dir, "self");
  const a = acquireFileLock(path, { timeoutMs: 0 });
  t.throws(() => acquireFileLock(path, { timeoutMs: 20 }), LockTimeoutError);
  a.release();
  const b = acquireFileLock(path, { timeoutMs: 0 });
  b.release();
});

t.test("a lock file that cannot be created: SysError naming the path", async (t) => {
  const err = t.throws(() => acquireFileLock(join(dir, "no-such-dir", "lock"), { timeoutMs: 0 }));
  t.ok(err instanceof SysError);
  t.match(err, { code: "ENOENT" });
  t.match((err as Error).message, /no-such-dir/);
  t.throws(() => acquireFileLock(join(dir, "x"), { timeoutMs: -1 }), RangeError);
});
