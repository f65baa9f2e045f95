// plugin/ipam/host-local: the in-process host-local IPAM: ADD (one address per range set, all-or-nothing),
// DEL (walk the whole lease directory, so changed ranges never strand a lease), CHECK, GC and STATUS.
// Uses a LeaseStore (DiskStore by default). Async only to wait for the lock (fairly, off this thread); the
// work under it is synchronous and short: the lease directory is read BEFORE the lock is taken, and under it
// only one listing, the files created since, last_reserved_ip and the link()/rename() of the reservation
// (never an exec, netlink, or a read of every lease).

import { parseCniArgIps } from "../../core/cni/cni-args.js";
import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { Attachment, HostLocalIpamConf, NetConf } from "../../core/cni/netconf.js";
import { rangeContains, type RangeSet } from "../../core/cni/ranges.js";
import type { IpConfig, Result } from "../../core/cni/result.js";
import { compareIp, formatIp, ipEqual, type IpAddr } from "../../core/ip.js";
import { tryParseIp } from "../../core/ip-parse.js";
import { monotonicMs } from "../../native/index.js";
import type { Logger } from "../types.js";
import { readKernelBootId } from "./boot-id.js";
import { allocate, formatRangeSet, rangeFor } from "./allocator.js";
import { DiskStore, type Locker } from "./disk-store.js";
import { readResolvConf } from "./resolv-conf.js";
import { legacyOwnedBy, ownedBy, type Lease, type LeaseContent, type LeaseOwner, type LeaseStore } from "./store.js";

export interface HostLocalCall {
  readonly conf: NetConf;
  readonly ipam: HostLocalIpamConf;
  readonly owner: LeaseOwner;
  readonly cniArgs: ReadonlyMap<string, string>;
  readonly log: Logger;
  /** Injected in tests. */
  readonly store?: LeaseStore;
  /** Takes the lease directory's lock (the agent's CNI service queues its threads before the flock). */
  readonly locker?: Locker;
  /** Where the current boot ID is read (reclaimAfterReboot); default /proc/sys/kernel/random/boot_id. */
  readonly bootIdPath?: string;
}

function storeFor(conf: NetConf, ipam: HostLocalIpamConf, locker?: Locker): LeaseStore {
  return new DiskStore({ dataDir: ipam.dataDir, network: conf.name, lockTimeoutMs: conf.lockTimeoutMs, ...(locker ? { locker } : {}) });
}

/** CNI_ARGS IP= (comma-separated IPs or CIDRs), then args.cni.ips, then runtimeConfig.ips; de-duplicated. */
function requestedIps(conf: NetConf, cniArgs: ReadonlyMap<string, string>): IpAddr[] {
  const out: IpAddr[] = [];
  const env = cniArgs.get("IP");
  if (env !== undefined) out.push(...parseCniArgIps(env));
  out.push(...conf.requestedIps);
  return out.filter((ip, i) => out.findIndex((o) => ipEqual(o, ip)) === i);
}

function mine(lease: Lease, owner: LeaseOwner): boolean {
  return ownedBy(lease.content, owner);
}

/**
 * All leases, under the lock. With a pre-scan (`seen`), only the files created since are read, plus those
 * named in `recheck` (whose content this operation acts on, so it must be current); else every lease.
 */
function lockedLeases(store: LeaseStore, seen: ReadonlyMap<string, LeaseContent> | undefined, recheck: readonly IpAddr[] = []): Lease[] {
  if (seen === undefined || !store.leasesSince) return store.leases();
  const fresh = new Map(seen);
  for (const ip of recheck) fresh.delete(formatIp(ip));
  return store.leasesSince(fresh);
}

function ownerMatches(leases: readonly Lease[], owner: LeaseOwner): Lease[] {
  const matched = leases.filter((l) => mine(l, owner));
  return matched.length > 0 ? matched : leases.filter((l) => legacyOwnedBy(l.content, owner.containerId));
}

/** Releases every lease of `owner` (falling back to legacy id-only leases, as host-local). Call locked. */
function releaseOwner(store: LeaseStore, owner: LeaseOwner, seen?: ReadonlyMap<string, LeaseContent>): IpAddr[] {
  // The owner's leases found by the pre-scan are read again: only a current content decides a release.
  const candidates = seen === undefined ? [] : ownerMatches([...seen].flatMap(([name, content]) => leaseOf(name, content)), owner).map((l) => l.ip);
  const leases = lockedLeases(store, seen, candidates);
  const matched = ownerMatches(leases, owner);
  for (const l of matched) store.release(l.ip);
  return matched.map((l) => l.ip);
}

function leaseOf(name: string, content: LeaseContent): Lease[] {
  const ip = tryParseIp(name);
  return ip === undefined ? [] : [{ ip, content }];
}

/** A long wait for the lease lock is worth an info line (a long queue on a loaded node); any wait a debug one. */
function logLockWait(log: Logger, asked: number): void {
  const waitedMs = Math.round(monotonicMs() - asked);
  if (waitedMs >= 1000) log.info("waited for the IPAM lock", { waitedMs });
  else log.debug("waited for the IPAM lock", { waitedMs });
}

function describeLease(lease: Lease): string {
  const c = lease.content;
  const owner = c.kind === "owner" ? `${c.owner.containerId}/${c.owner.ifName}` : c.kind === "legacy" ? c.containerId : "(empty or unreadable)";
  return `${formatIp(lease.ip)} ${owner}`;
}

/**
 * reclaimAfterReboot, under the lock: when the directory records another boot than `bootId`, every lease
 * in it belongs to a namespace that died with that boot (the runtime sends no DEL for those), so all are
 * released; then this boot is recorded. A missing or garbled record is unknown: recorded, nothing released.
 * On the normal path this is one small file read.
 */
function reclaimLeasesOfPreviousBoot(store: LeaseStore, bootId: string | undefined, network: string, log: Logger): void {
  if (bootId === undefined || !store.recordedBootId || !store.recordBootId) return; // cannot tell boots apart
  const recorded = store.recordedBootId();
  if (recorded === bootId) return;
  if (recorded !== undefined) {
    const stale = store.leases();
    for (const lease of stale) {
      store.release(lease.ip);
      log.info("released a lease from a previous boot", { network, lease: describeLease(lease), previousBoot: recorded });
    }
    log.info("reclaimed the leases of a previous boot", { network, count: stale.length, previousBoot: recorded, bootId });
  }
  store.recordBootId(bootId);
}

export async function hostLocalAdd(call: HostLocalCall): Promise<Result> {
  const { conf, ipam, owner, log } = call;
  if (ipam.ranges.length === 0) {
    throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `ipam: no IP ranges specified: set ipam.ranges`);
  }
  const dns = ipam.resolvConf ? readResolvConf(ipam.resolvConf) : {};
  const store = call.store ?? storeFor(conf, ipam, call.locker);
  const pending = requestedIps(conf, call.cniArgs);
  const bootId = ipam.reclaimAfterReboot ? readKernelBootId(call.bootIdPath) : undefined;
  // A requested IP outside every range set fails before anything is touched.
  const homeless = pending.filter((ip) => !ipam.ranges.some((set) => rangeFor(set, ip)));
  if (homeless.length > 0) {
    throw new CniError(
      CNI_ERROR_CODE.REQUESTED_IP_UNAVAILABLE,
      `failed to allocate all requested IPs: ${homeless.map(formatIp).join(" ")} (not in any configured range set: ${ipam.ranges.map(formatRangeSet).join("; ")})`,
    );
  }
  // Lease content is written and fsync'd before the lock; inside it only link() and rename() happen. Temp
  // files of dead processes are swept and the leases read before it too.
  store.stage?.(owner, ipam.ranges.length);
  let ips: IpConfig[];
  try {
    store.sweepTemporaries();
    const seen = store.scan?.();
    const asked = monotonicMs();
    ips = await store.withLock(() => {
      logLockWait(log, asked);
      if (ipam.reclaimAfterReboot) reclaimLeasesOfPreviousBoot(store, bootId, conf.name, log);
      const leases = lockedLeases(store, seen);
      const lastBefore = ipam.ranges.map((_, idx) => store.lastReservedIp(idx));
      const got: IpConfig[] = [];
      try {
        ipam.ranges.forEach((set, idx) => {
          const i = pending.findIndex((ip) => rangeFor(set, ip) !== undefined);
          const requested = i >= 0 ? pending.splice(i, 1)[0] : undefined;
          try {
            got.push(allocate({ store, set, rangeSetIndex: idx, owner, requested, leases }));
          } catch (e) {
            if (e instanceof CniError) throw new CniError(e.code, `failed to allocate for range ${idx}: ${e.message}`, { details: e.details, cause: e });
            throw e;
          }
        });
        if (pending.length > 0) {
          throw new CniError(
            CNI_ERROR_CODE.REQUESTED_IP_UNAVAILABLE,
            `failed to allocate all requested IPs: ${pending.map(formatIp).join(" ")} (not in any configured range set: ${ipam.ranges.map(formatRangeSet).join("; ")})`,
          );
        }
      } catch (e) {
        // All or nothing: give back what this call reserved (only that: older leases are not ours to drop).
        for (const ip of got) store.release(ip.address.addr);
        got.forEach((_, idx) => store.restoreLastReserved(idx, lastBefore[idx]));
        throw e;
      }
      return got;
    });
  } finally {
    store.unstage?.();
  }
  log.info("allocated", { ips: ips.map((ip) => formatIp(ip.address.addr)).join(","), network: conf.name });
  return { interfaces: [], ips, routes: ipam.routes, dns };
}

export async function hostLocalDel(call: HostLocalCall): Promise<void> {
  const store = call.store ?? storeFor(call.conf, call.ipam, call.locker);
  const seen = store.scan?.();
  const asked = monotonicMs();
  const released = await store.withLock(() => {
    logLockWait(call.log, asked);
    return releaseOwner(store, call.owner, seen);
  });
  if (released.length > 0) call.log.info("released", { ips: released.map(formatIp).join(","), network: call.conf.name });
  else call.log.debug("no lease to release", { network: call.conf.name });
}

export async function hostLocalCheck(call: HostLocalCall): Promise<void> {
  const { conf, ipam, owner } = call;
  const store = call.store ?? storeFor(conf, ipam, call.locker);
  const leases = await store.withLock(() => store.leases());
  const held = leases.filter((l) => mine(l, owner) || legacyOwnedBy(l.content, owner.containerId));
  if (held.length === 0) {
    throw new CniError(
      CNI_ERROR_CODE.CHECK_MISMATCH,
      `host-local: failed to find an address leased to container ${q(owner.containerId)} interface ${q(owner.ifName)} in ${q(`${ipam.dataDir}/${conf.name}`)}`,
    );
  }
  // Every address prevResult reports from our ranges must still be leased to this attachment.
  for (const ip of conf.prevResult?.ips ?? []) {
    const addr = ip.address.addr;
    if (!ipam.ranges.some((set) => rangeFor(set, addr))) continue;
    if (!held.some((l) => ipEqual(l.ip, addr))) {
      throw new CniError(
        CNI_ERROR_CODE.CHECK_MISMATCH,
        `host-local: address ${formatIp(addr)} from prevResult is not leased to container ${q(owner.containerId)} interface ${q(owner.ifName)}`,
      );
    }
  }
}

/**
 * Releases every lease whose (containerID, ifname) is not valid, every empty/garbage lease, and stale temp
 * files. Legacy id-only leases are kept when any valid attachment has that container ID.
 */
export async function hostLocalGc(conf: NetConf, ipam: HostLocalIpamConf, valid: readonly Attachment[], log: Logger, store = storeFor(conf, ipam)): Promise<void> {
  const validKeys = new Set(valid.map((a) => `${a.containerId.trim()}\n${a.ifName}`));
  const validIds = new Set(valid.map((a) => a.containerId.trim()));
  const released = await store.withLock(() => {
    const temps = store.sweepTemporaries();
    if (temps > 0) log.info("removed stale temp files", { count: temps });
    const out: string[] = [];
    for (const lease of store.leases()) {
      const c = lease.content;
      const keep =
        c.kind === "owner" ? validKeys.has(`${c.owner.containerId}\n${c.owner.ifName}`) : c.kind === "legacy" ? validIds.has(c.containerId) : false;
      if (keep) continue;
      store.release(lease.ip);
      out.push(`${formatIp(lease.ip)}(${c.kind === "owner" ? `${c.owner.containerId.slice(0, 12)}/${c.owner.ifName}` : c.kind})`);
    }
    return out;
  });
  if (released.length > 0) log.info("GC released leases", { network: conf.name, leases: released.join(" ") });
}

/** Allocatable addresses of a range set (gateways excluded). */
export function capacityOf(set: RangeSet): bigint {
  let n = 0n;
  for (const r of set) {
    n += r.rangeEnd.value - r.rangeStart.value + 1n;
    if (r.gateway !== undefined && compareIp(r.rangeStart, r.gateway) <= 0 && compareIp(r.gateway, r.rangeEnd) <= 0) n -= 1n;
  }
  return n;
}

/** Free addresses per range set, counted from a lock-free listing (STATUS is informational). */
export function freeCounts(ipam: HostLocalIpamConf, leases: readonly IpAddr[]): bigint[] {
  return ipam.ranges.map((set) => {
    let used = 0n;
    for (const ip of leases) {
      const r = rangeFor(set, ip);
      if (r && !(r.gateway !== undefined && ipEqual(r.gateway, ip))) used++;
    }
    const free = capacityOf(set) - used;
    return free < 0n ? 0n : free;
  });
}

export interface HostLocalStatusOptions {
  readonly store?: LeaseStore;
  readonly log?: Logger;
  /** As HostLocalCall.bootIdPath. */
  readonly bootIdPath?: string;
}

export function hostLocalStatus(conf: NetConf, ipam: HostLocalIpamConf, options: HostLocalStatusOptions = {}): void {
  if (ipam.ranges.length === 0) {
    throw new CniError(CNI_ERROR_CODE.NOT_AVAILABLE, `ipam: no IP ranges configured for network ${q(conf.name)}`);
  }
  const store = options.store ?? storeFor(conf, ipam);
  const leases = store.snapshot();
  let free = freeCounts(ipam, leases);
  if (free.some((n) => n === 0n) && ipam.reclaimAfterReboot) {
    // Leases of a previous boot are as good as free: the next ADD releases them before it allocates.
    const bootId = readKernelBootId(options.bootIdPath);
    const recorded = store.recordedBootId?.();
    if (bootId !== undefined && recorded !== undefined && recorded !== bootId) {
      options.log?.info(`${leases.length} leases from a previous boot will be reclaimed at the next ADD`, { network: conf.name, previousBoot: recorded });
      free = freeCounts(ipam, []);
    }
  }
  const full = free.findIndex((n) => n === 0n);
  if (full >= 0) {
    const set = ipam.ranges[full]!;
    throw new CniError(
      CNI_ERROR_CODE.NOT_AVAILABLE,
      `IP pool exhausted: no free address in range set ${full} (${formatRangeSet(set)}) of network ${q(conf.name)}; release leaked leases (CNI GC) or widen the range`,
      { details: `capacity=${capacityOf(set)} leaseDir=${ipam.dataDir}/${conf.name}` },
    );
  }
}

export { rangeContains };
