// native/netns: network namespace handles (an open nsfs fd + its path), the calling thread's namespace, and
// withNetnsSync, which runs a synchronous callback with the thread inside another namespace and always
// brings it back. Imports node:fs, ./ffi/libc and ./ffi/sys-error. Synchronous by design: setns() moves the
// calling thread only, and no async work may ever run while the main thread is inside another namespace.

import { closeSync, fstatSync, openSync } from "node:fs";
import type { NetnsHandle } from "./api.js";
import * as libc from "./ffi/libc.js";
import { SysError, sysErrorFromNode } from "./ffi/sys-error.js";

const ENOENT = 2;
const EINVAL = 22;

/** The netns path does not exist (e.g. the container is gone): what makes a CNI DEL idempotent. */
export class NetnsNotFoundError extends SysError {
  readonly path: string;
  constructor(path: string, options?: ErrorOptions) {
    super("open", ENOENT, JSON.stringify(path), options);
    this.name = "NetnsNotFoundError";
    this.path = path;
    this.message = `Network namespace ${JSON.stringify(path)} does not exist (ENOENT)`;
  }
}

/** The path exists but is not a network namespace (a plain file, a stale /run/netns entry, another ns type). */
export class NotNetnsError extends SysError {
  readonly path: string;
  constructor(path: string, what: string) {
    super("open", EINVAL, JSON.stringify(path));
    this.name = "NotNetnsError";
    this.path = path;
    this.message = `${JSON.stringify(path)} is not a network namespace (it is ${what}) (EINVAL)`;
  }
}

function handle(fd: number, path: string): NetnsHandle {
  let closed = false;
  try {
    const st = fstatSync(fd);
    return {
      fd,
      path,
      inode: st.ino,
      dev: st.dev,
      close() {
        if (closed) return;
        closed = true;
        closeSync(fd);
      },
    };
  } catch (err) {
    closeSync(fd);
    throw sysErrorFromNode(err, "fstat", JSON.stringify(path));
  }
}

/**
 * Opens a network namespace by path (O_RDONLY|O_CLOEXEC).
 * @throws NetnsNotFoundError when the path does not exist; NotNetnsError when it is not a netns
 */
export function openNetns(path: string): NetnsHandle {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if (typeof err === "object" && err !== null && "code" in err && err.code === "ENOENT") {
      throw new NetnsNotFoundError(path, { cause: err });
    }
    throw sysErrorFromNode(err, "open", JSON.stringify(path));
  }
  // Ask the namespace itself (NS_GET_NSTYPE): readlink of /proc/self/fd/N would show the bind mount's path,
  // and a stale /run/netns entry (its mount gone) is a plain empty file that answers ENOTTY.
  let nstype: number;
  try {
    nstype = libc.ioctl(fd, libc.NS_GET_NSTYPE, JSON.stringify(path));
  } catch (err) {
    closeSync(fd);
    if (err instanceof SysError && (err.code === "ENOTTY" || err.code === "EINVAL")) {
      throw new NotNetnsError(path, "not a namespace file");
    }
    throw err;
  }
  if (nstype !== libc.CLONE_NEWNET) {
    closeSync(fd);
    throw new NotNetnsError(path, `a namespace of another type (CLONE_NEW* 0x${nstype.toString(16)})`);
  }
  return handle(fd, path);
}

/** The calling thread's network namespace, opened (/proc/thread-self/ns/net). Close it when done. */
export function currentNetns(): NetnsHandle {
  return openNetns("/proc/thread-self/ns/net");
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { then?: unknown }).then === "function";
}

/**
 * Runs `fn` with the calling thread inside the network namespace `netns` (a path or an open handle), then
 * moves the thread back, also when `fn` throws. Only for synchronous work (fs.*Sync on /proc/sys, opening a
 * socket): an async callback is rejected with TypeError, because its continuations would run in whichever
 * namespace the thread is in by then.
 * @throws NetnsNotFoundError / NotNetnsError for a bad path; SysError when setns fails; whatever fn throws
 */
export function withNetnsSync<T>(netns: string | NetnsHandle, fn: () => T): T {
  if (typeof fn !== "function") throw new TypeError("withNetnsSync needs a callback");
  if (fn.constructor.name === "AsyncFunction") {
    throw new TypeError("withNetnsSync takes a synchronous callback; an async one would resume outside the namespace");
  }
  const target = typeof netns === "string" ? openNetns(netns) : netns;
  try {
    const home = currentNetns();
    try {
      libc.setns(target.fd, libc.CLONE_NEWNET, `entering ${JSON.stringify(target.path)}`);
      let result: T;
      try {
        result = fn();
      } finally {
        returnHome(home);
      }
      if (isThenable(result)) {
        // Too late to stop it: keep its rejection from becoming an unhandled one, and refuse the result.
        Promise.resolve(result).catch(() => undefined);
        throw new TypeError("withNetnsSync callback returned a Promise; only synchronous work may run inside a namespace");
      }
      return result;
    } finally {
      home.close();
    }
  } finally {
    if (typeof netns === "string") target.close();
  }
}

function returnHome(home: NetnsHandle): void {
  try {
    libc.setns(home.fd, libc.CLONE_NEWNET, "returning to the original network namespace");
  } catch (err) {
    // The thread is stranded in another namespace: nothing this process does afterwards can be trusted.
    const e = new Error(
      "Could not return the thread to its original network namespace; the process must exit now",
      { cause: err },
    );
    throw e;
  }
}

/**
 * Moves the calling thread into `target` and returns a handle of the namespace it left (pass that back here
 * to return; close both when done). Unlike withNetnsSync the thread stays there across awaits: only for a
 * thread that runs nothing else meanwhile (a CNI service worker runs one request at a time, in the caller's
 * namespace, exactly as the executable would run in it).
 * @throws SysError when setns fails (the thread is then still where it was)
 */
export function moveThreadToNetns(target: NetnsHandle): NetnsHandle {
  const home = currentNetns();
  try {
    libc.setns(target.fd, libc.CLONE_NEWNET, `entering ${JSON.stringify(target.path)}`);
  } catch (err) {
    home.close();
    throw err;
  }
  return home;
}
