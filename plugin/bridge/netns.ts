// plugin/bridge/netns: one handle per network namespace the plugin works in (the host = the namespace the
// plugin runs in, and the pod's CNI_NETNS): its rtnetlink socket, its sysctls, an fd to create veth peers
// in it. Imports native (through native/index.js) and core; synchronous. Also the one place where kernel
// failures get the "what were we doing" sentence that makes a CNI error actionable.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import {
  LockTimeoutError,
  NetlinkError,
  SysError,
  isErrno,
  openNetns,
  openRtnl,
  withNetnsSync,
  writeSysctl,
  type Rtnl,
} from "../../native/index.js";

export { isErrno };
export { IFA_F_NODAD } from "../../native/index.js";

export interface SysctlWrite {
  /** Path under /proc/sys, e.g. "net/ipv4/conf/eth0/arp_notify". */
  readonly name: string;
  readonly value: string;
  /** A missing key (ENOENT: IPv6 disabled, interface gone) is not an error. */
  readonly optional?: boolean;
}

export interface NsHandle {
  /** The namespace's path; undefined = the namespace the plugin runs in. */
  readonly path: string | undefined;
  readonly rtnl: Rtnl;
  /** Writes sysctls inside this namespace (one namespace switch for the whole list). */
  sysctl(writes: readonly SysctlWrite[]): void;
  /** An open fd of this namespace (opened once, closed with the handle): where a veth peer is born. */
  fd(): number;
  close(): void;
}

/** Wraps a kernel failure into a CNI error saying what failed (code 102); CniErrors pass through. */
export function wrapKernelError(what: string, err: unknown): Error {
  if (err instanceof CniError) return err;
  // A lock wait that timed out is "try again later" (11), wherever it happens (DEL wraps every step).
  if (err instanceof LockTimeoutError) return new CniError(CNI_ERROR_CODE.TRY_AGAIN_LATER, `${what}: ${err.message}: try again later`, { cause: err });
  if (err instanceof NetlinkError || err instanceof SysError) {
    return new CniError(CNI_ERROR_CODE.KERNEL_OPERATION_FAILED, `${what}: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Runs one kernel step, wrapping its failure with `what`. */
export function kernelStep<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw wrapKernelError(what, err);
  }
}

function writeAll(writes: readonly SysctlWrite[]): void {
  for (const w of writes) {
    try {
      writeSysctl(w.name, w.value);
    } catch (err) {
      if (w.optional === true && isErrno(err, "ENOENT")) continue;
      throw wrapKernelError(`could not set sysctl ${w.name.split("/").join(".")}=${w.value}`, err);
    }
  }
}

function makeHandle(path: string | undefined, rtnl: Rtnl): NsHandle {
  let nsFd: { fd: number; close(): void } | undefined;
  return {
    path,
    rtnl,
    sysctl(writes) {
      if (writes.length === 0) return;
      // /proc/sys/net shows the namespace of the thread that opens the file: enter, write, return at once.
      if (path === undefined) writeAll(writes);
      else withNetnsSync(path, () => writeAll(writes));
    },
    fd() {
      const opened = nsFd ?? openNetns(path ?? "/proc/thread-self/ns/net");
      nsFd = opened;
      return opened.fd;
    },
    close() {
      nsFd?.close();
      nsFd = undefined;
      rtnl.close();
    },
  };
}

/** The namespace the plugin runs in (or `path`, for a caller that names the host namespace explicitly). */
export function openHostNs(path?: string): NsHandle {
  const rtnl = kernelStep("could not open a netlink socket in the host namespace", () =>
    openRtnl(path === undefined ? {} : { netnsPath: path }),
  );
  return makeHandle(path, rtnl);
}

function netnsGone(err: unknown): boolean {
  // ENOENT: the path is gone; EINVAL: the path exists but is not a namespace any more (a leftover mount
  // point file after the runtime unmounted it).
  return isErrno(err, "ENOENT", "EINVAL", "ENOTDIR");
}

/** The pod's namespace, or undefined when the path is gone or no longer a namespace (DEL forgives that). */
export function findContainerNs(path: string): NsHandle | undefined {
  try {
    return makeHandle(path, openRtnl({ netnsPath: path }));
  } catch (err) {
    if (netnsGone(err)) return undefined;
    throw wrapKernelError(`could not open the container network namespace ${q(path)}`, err);
  }
}

/** The pod's namespace; missing is an error (ADD, CHECK). */
export function getContainerNs(path: string): NsHandle {
  try {
    return makeHandle(path, openRtnl({ netnsPath: path }));
  } catch (err) {
    if (netnsGone(err)) {
      throw new CniError(
        CNI_ERROR_CODE.NETNS_UNAVAILABLE,
        `the container network namespace ${q(path)} does not exist or is not a network namespace (CNI_NETNS)`,
        { cause: err },
      );
    }
    throw wrapKernelError(`could not open the container network namespace ${q(path)}`, err);
  }
}

/** Runs `fn` with the handles and closes them, whatever happens. */
export async function usingNs<T>(handles: readonly (NsHandle | undefined)[], fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    for (const h of handles) h?.close();
  }
}
