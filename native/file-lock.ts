// native/file-lock: advisory whole-file locks with flock(2) (not fcntl: a flock lock belongs to the open
// file, is released by the kernel when the holder dies, and is what host-local's go-filemutex takes).
// Each acquisition opens the file anew, so two acquisitions conflict even inside one process (and across
// worker threads), exactly like two processes. Imports node:fs, ./ffi/libc and ./ffi/sys-error.
// waitFileLock (the one to use) waits fairly: a blocking flock on a pool thread, so waiters queue in the
// kernel (first come, first served, with the reference plugins' blocking waiters in the same queue).
// acquireFileLock is synchronous and polls: tests and callers that cannot await.

import { closeSync, constants, openSync } from "node:fs";
import type { FileLock, FileLockOptions } from "./api.js";
import * as libc from "./ffi/libc.js";
import { SysError, sysErrorFromNode } from "./ffi/sys-error.js";
import { monotonicMs } from "./clock.js";

const EAGAIN = 11;

/** The lock stayed held by someone else for the whole timeout (EAGAIN: "try again later"). */
export class LockTimeoutError extends SysError {
  readonly path: string;
  readonly timeoutMs: number;
  constructor(path: string, timeoutMs: number) {
    super("flock", EAGAIN, JSON.stringify(path));
    this.name = "LockTimeoutError";
    this.path = path;
    this.timeoutMs = timeoutMs;
    this.message = `Timed out after ${timeoutMs} ms waiting for the lock on ${JSON.stringify(path)}; another process holds it (EAGAIN)`;
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (Atomics.wait on a cell nobody notifies). */
function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

/** Checks the timeout and opens (creating it O_RDONLY|O_CREAT with `mode` if needed) the lock file. */
function openLockFile(path: string, options: FileLockOptions): number {
  const { timeoutMs, mode = 0o600 } = options;
  if (!(timeoutMs >= 0)) throw new RangeError(`Invalid lock timeout ${timeoutMs}`);
  try {
    return openSync(path, constants.O_RDONLY | constants.O_CREAT, mode);
  } catch (err) {
    throw sysErrorFromNode(err, "open", `lock file ${JSON.stringify(path)}`);
  }
}

/**
 * Opens (creating it O_RDONLY|O_CREAT with `mode` if needed) and locks `path`, polling flock(LOCK_NB) with
 * short sleeps (1 ms, doubling to 20 ms) until `timeoutMs` has passed.
 * @throws LockTimeoutError when the lock is still held elsewhere at the deadline; SysError when the file cannot be opened
 */
export function acquireFileLock(path: string, options: FileLockOptions): FileLock {
  const { timeoutMs, shared = false } = options;
  const fd = openLockFile(path, options);
  try {
    const op = (shared ? libc.LOCK_SH : libc.LOCK_EX) | libc.LOCK_NB;
    const deadline = monotonicMs() + timeoutMs;
    let pause = 1;
    while (!libc.flock(fd, op, JSON.stringify(path))) {
      const left = deadline - monotonicMs();
      if (left <= 0) throw new LockTimeoutError(path, timeoutMs);
      sleepSync(Math.min(pause, left));
      pause = Math.min(pause * 2, 20);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return lockOf(path, fd);
}

/** The held lock of `fd`: release() unlocks and closes it, once. */
function lockOf(path: string, fd: number): FileLock {
  let released = false;
  return {
    path,
    fd,
    get released() {
      return released;
    },
    release() {
      if (released) return;
      released = true;
      try {
        libc.flock(fd, libc.LOCK_UN);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Unlocks (if held) and closes quietly: a lock that arrived for a waiter that gave up. */
function dropQuietly(fd: number): void {
  try {
    libc.flock(fd, libc.LOCK_UN);
  } catch {
    // closing releases it anyway
  }
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * Opens (creating it O_RDONLY|O_CREAT with `mode` if needed) and locks `path`, waiting at most `timeoutMs`.
 * Free lock: taken at once on this thread (LOCK_NB). Held lock: a blocking flock on a pool thread, so this
 * waiter joins the kernel's queue of the file's waiters and is woken the moment it is its turn (no polling:
 * waiters are served in order). At the deadline the wait is abandoned: the pool call cannot be cancelled,
 * so when it completes later the lock is released and the file closed at once, never held. A process that
 * exits meanwhile drops the pending request with its descriptors (callers exit with process.exit: the pool
 * call keeps the event loop alive).
 * @throws LockTimeoutError at the deadline; SysError when the file cannot be opened or flock fails otherwise
 */
export async function waitFileLock(path: string, options: FileLockOptions): Promise<FileLock> {
  const { timeoutMs, shared = false } = options;
  const fd = openLockFile(path, options);
  const op = shared ? libc.LOCK_SH : libc.LOCK_EX;
  const detail = JSON.stringify(path);
  try {
    if (libc.flock(fd, op | libc.LOCK_NB, detail)) return lockOf(path, fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    const left = deadline - monotonicMs();
    if (left <= 0) {
      closeSync(fd);
      throw new LockTimeoutError(path, timeoutMs);
    }
    const outcome = await blockingFlockWithin(fd, op, left);
    if (outcome === "locked") return lockOf(path, fd);
    if (outcome === "timeout") throw new LockTimeoutError(path, timeoutMs); // fd is the late call's to close
    // flock said -1 (EINTR, or a real error): ask again without blocking to learn which, then wait again.
    try {
      if (libc.flock(fd, op | libc.LOCK_NB, detail)) return lockOf(path, fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
}

/**
 * One blocking flock on a pool thread, raced against a timer. "timeout" hands `fd` over to the pending call,
 * which releases and closes it whenever it completes.
 */
function blockingFlockWithin(fd: number, op: number, ms: number): Promise<"locked" | "failed" | "timeout"> {
  return new Promise((resolve, reject) => {
    let abandoned = false;
    const timer = setTimeout(() => {
      abandoned = true;
      resolve("timeout");
    }, ms);
    libc.flockAsync(fd, op).then(
      (r) => {
        if (abandoned) return dropQuietly(fd);
        clearTimeout(timer);
        resolve(r === 0 ? "locked" : "failed");
      },
      (err: unknown) => {
        if (abandoned) return dropQuietly(fd);
        clearTimeout(timer);
        closeSync(fd);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
