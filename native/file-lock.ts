// native/file-lock: advisory whole-file locks with flock(2) (not fcntl: a flock lock belongs to the open
// file, is released by the kernel when the holder dies, and is what host-local's go-filemutex takes).
// Imports node:fs, ./ffi/libc and ./ffi/sys-error. Synchronous: waiting polls with short blocking sleeps.

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

/**
 * Opens (creating it O_RDONLY|O_CREAT with `mode` if needed) and locks `path`, polling flock(LOCK_NB) with
 * short sleeps (1 ms, doubling to 20 ms) until `timeoutMs` has passed.
 * @throws LockTimeoutError when the lock is still held elsewhere at the deadline; SysError when the file cannot be opened
 */
export function acquireFileLock(path: string, options: FileLockOptions): FileLock {
  const { timeoutMs, mode = 0o600, shared = false } = options;
  if (!(timeoutMs >= 0)) throw new RangeError(`Invalid lock timeout ${timeoutMs}`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, mode);
  } catch (err) {
    throw sysErrorFromNode(err, "open", `lock file ${JSON.stringify(path)}`);
  }
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
