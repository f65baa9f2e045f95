// plugin/ipam/store: the lease store the allocator works on (like host-local's backend.Store), and the
// owner encoding of a lease. Pure: no I/O here; plugin/ipam/disk-store.ts is the on-disk implementation.

import { interfaceNameProblem } from "../../core/cni/bridge-conf.js";
import { NAME_RE } from "../../core/cni/netconf.js";
import type { IpAddr } from "../../core/ip.js";

/** Who holds a lease: `containerID\r\nifname` on disk. */
export interface LeaseOwner {
  readonly containerId: string;
  readonly ifName: string;
}

/**
 * A lease file's content, classified: "owner" (id + ifname), "legacy" (just the id, older host-local),
 * or "garbage" (empty or unreadable: a crash between create and write in host-local, plugins#498).
 */
export type LeaseContent =
  | { readonly kind: "owner"; readonly owner: LeaseOwner }
  | { readonly kind: "legacy"; readonly containerId: string }
  | { readonly kind: "garbage" };

export interface Lease {
  readonly ip: IpAddr;
  readonly content: LeaseContent;
}

/** host-local's separator between container ID and interface name. */
const LINE_BREAK = "\r\n";

/** The bytes host-local writes: the trimmed container ID, CRLF, the interface name; no trailing newline. */
export function encodeLeaseOwner(owner: LeaseOwner): string {
  return `${owner.containerId.trim()}${LINE_BREAK}${owner.ifName}`;
}

export function decodeLeaseContent(text: string): LeaseContent {
  const t = text.trim();
  const i = t.indexOf(LINE_BREAK);
  if (i >= 0) {
    const containerId = t.slice(0, i);
    const ifName = t.slice(i + LINE_BREAK.length);
    if (NAME_RE.test(containerId) && interfaceNameProblem(ifName) === undefined) return { kind: "owner", owner: { containerId, ifName } };
    return { kind: "garbage" };
  }
  return t !== "" && NAME_RE.test(t) ? { kind: "legacy", containerId: t } : { kind: "garbage" };
}

/** host-local's match: the exact (id, ifname) pair. */
export function ownedBy(content: LeaseContent, owner: LeaseOwner): boolean {
  return content.kind === "owner" && content.owner.containerId === owner.containerId.trim() && content.owner.ifName === owner.ifName;
}

/** host-local's legacy fallback: a lease holding just the container ID. */
export function legacyOwnedBy(content: LeaseContent, containerId: string): boolean {
  return content.kind === "legacy" && content.containerId === containerId.trim();
}

/**
 * The lease directory of one network. Every method except `snapshot` must be called inside `withLock`.
 * Implementations must make `reserve` exclusive (never overwrite a lease) and atomic (no empty lease ever).
 */
export interface LeaseStore {
  /** Waits for the network's lock, then runs `fn` (synchronous) holding it; never held longer than `fn`. */
  withLock<T>(fn: () => T): Promise<T>;
  /** All leases (files named by an IP). */
  leases(): Lease[];
  /**
   * Optional, lock-free: the contents of the leases by name, read before the lock is taken so that the
   * critical section never reads every lease (see leasesSince).
   */
  scan?(): ReadonlyMap<string, LeaseContent>;
  /**
   * Optional, locked: all leases, reading only the files whose names are not in `seen` (created since the
   * scan; a name that vanished is dropped). One directory listing plus O(changes) reads.
   */
  leasesSince?(seen: ReadonlyMap<string, LeaseContent>): Lease[];
  /** Creates the lease for `ip` unless it exists; false when it is taken. Records last_reserved_ip.<rangeSetIndex>. */
  reserve(owner: LeaseOwner, ip: IpAddr, rangeSetIndex: number): boolean;
  /** The last reserved IP of a range set, when recorded and parseable. */
  lastReservedIp(rangeSetIndex: number): IpAddr | undefined;
  /** Puts last_reserved_ip.<rangeSetIndex> back as it was (undefined = absent): rollback of a failed ADD. */
  restoreLastReserved(rangeSetIndex: number, previous: IpAddr | undefined): void;
  /** Deletes the lease of `ip`; a missing lease is fine. */
  release(ip: IpAddr): void;
  /**
   * Optional: prepares `count` reservations for `owner` before the lock is taken, so slow work (writing and
   * fsync'ing the lease content) stays out of the critical section. `unstage` drops what was not used.
   */
  stage?(owner: LeaseOwner, count: number): void;
  unstage?(): void;
  /** Removes leftovers of interrupted writes (temp files of dead processes); returns how many. */
  sweepTemporaries(): number;
  /** Lease IPs without taking the lock (may be slightly stale): for STATUS counts. */
  snapshot(): IpAddr[];
  /**
   * Optional (reclaimAfterReboot): the boot ID recorded in the directory, undefined when missing or not a
   * boot ID. May be called without the lock (the record is replaced atomically).
   */
  recordedBootId?(): string | undefined;
  /** Records `bootId` as the boot the directory's leases belong to. */
  recordBootId?(bootId: string): void;
}
