// plugin/ipam/allocator: host-local's allocation algorithm over a LeaseStore, one range
// set at a time: requested IP, duplicate check, round robin from last_reserved_ip + 1 across the set's
// ranges (wrapping), skipping each range's gateway. Synchronous; the caller holds the store's lock.

import { CNI_ERROR_CODE, CniError } from "../../core/cni/errors.js";
import { formatRange, rangeContains, type Range, type RangeSet } from "../../core/cni/ranges.js";
import type { IpConfig } from "../../core/cni/result.js";
import { formatIp, ipEqual, nextIp, type IpAddr } from "../../core/ip.js";
import { legacyOwnedBy, ownedBy, type Lease, type LeaseOwner, type LeaseStore } from "./store.js";

export function rangeFor(set: RangeSet, ip: IpAddr): Range | undefined {
  return set.find((r) => rangeContains(r, ip));
}

/** "10.1.0.1-10.1.0.254,10.2.0.1-10.2.0.254", as host-local prints a range set. */
export function formatRangeSet(set: RangeSet): string {
  return set.map(formatRange).join(",");
}

/**
 * Candidate addresses in host-local's order: after `last` when it lies in the set (round robin), else from
 * the first range's start; range by range, wrapping from a range's end to the next range's start, until
 * back at the first candidate. Gateways are skipped.
 */
export function* candidates(set: RangeSet, last: IpAddr | undefined): Generator<{ ip: IpAddr; range: Range }> {
  let idx = 0;
  let cur: IpAddr | undefined;
  if (last !== undefined) {
    const i = set.findIndex((r) => rangeContains(r, last));
    if (i >= 0) {
      idx = i;
      cur = last;
    }
  }
  let start: IpAddr | undefined;
  for (;;) {
    let r = set[idx]!;
    if (cur === undefined) {
      cur = r.rangeStart;
    } else if (ipEqual(cur, r.rangeEnd)) {
      idx = (idx + 1) % set.length;
      r = set[idx]!;
      cur = r.rangeStart;
    } else {
      cur = nextIp(cur);
    }
    if (start === undefined) start = cur;
    else if (ipEqual(cur, start)) return;
    if (r.gateway !== undefined && ipEqual(cur, r.gateway)) continue;
    yield { ip: cur, range: r };
  }
}

export interface AllocateOptions {
  readonly store: LeaseStore;
  readonly set: RangeSet;
  readonly rangeSetIndex: number;
  readonly owner: LeaseOwner;
  readonly requested: IpAddr | undefined;
  /**
   * The store's leases read once under the current lock (updated here as addresses are reserved), so a
   * multi-set ADD walks the directory once; read from the store when absent.
   */
  readonly leases?: Lease[];
}

function reserve(o: AllocateOptions, leases: Lease[], ip: IpAddr): boolean {
  if (!o.store.reserve(o.owner, ip, o.rangeSetIndex)) return false;
  leases.push({ ip, content: { kind: "owner", owner: { containerId: o.owner.containerId.trim(), ifName: o.owner.ifName } } });
  return true;
}

function ipConfig(ip: IpAddr, r: Range): IpConfig {
  const address = { addr: ip, prefixLen: r.subnet.prefixLen };
  return r.gateway === undefined ? { address } : { address, gateway: r.gateway };
}

/**
 * Reserves one address of `set` for `owner`. Call with the store locked.
 * @throws CniError 101 (requested IP taken / gateway / outside), 107 (duplicate), 100 (exhausted)
 */
export function allocate(o: AllocateOptions): IpConfig {
  const { store, set, rangeSetIndex, owner, requested } = o;
  const leases = o.leases ?? store.leases();
  const where = `range set ${rangeSetIndex} (${formatRangeSet(set)})`;
  if (requested !== undefined) {
    const r = rangeFor(set, requested);
    if (r === undefined) {
      throw new CniError(CNI_ERROR_CODE.REQUESTED_IP_UNAVAILABLE, `requested IP ${formatIp(requested)} is not in ${where}`);
    }
    if (r.gateway !== undefined && ipEqual(requested, r.gateway)) {
      throw new CniError(CNI_ERROR_CODE.REQUESTED_IP_UNAVAILABLE, `requested IP ${formatIp(requested)} is the subnet's gateway; request another address`);
    }
    if (!reserve(o, leases, requested)) {
      throw new CniError(
        CNI_ERROR_CODE.REQUESTED_IP_UNAVAILABLE,
        `requested IP address ${formatIp(requested)} is not available in ${where}: it is leased to another container`,
      );
    }
    return ipConfig(requested, r);
  }
  // A repeated ADD without DEL is an error, as in host-local (containernetworking/plugins#328).
  // Like host-local's GetByID, a legacy lease holding just this container ID counts too.
  for (const lease of leases) {
    const mine = ownedBy(lease.content, owner) || legacyOwnedBy(lease.content, owner.containerId);
    if (mine && rangeFor(set, lease.ip)) {
      throw new CniError(
        CNI_ERROR_CODE.DUPLICATE_ALLOCATION,
        `${formatIp(lease.ip)} has been allocated to ${owner.containerId}, duplicate allocation is not allowed: run DEL for container ${owner.containerId} interface ${owner.ifName} first`,
      );
    }
  }
  // Skip addresses known to be taken without a syscall each; reserve() stays the exclusive arbiter.
  const taken = new Set(leases.map((l) => `${l.ip.family}:${l.ip.value}`));
  for (const { ip, range } of candidates(set, store.lastReservedIp(rangeSetIndex))) {
    if (taken.has(`${ip.family}:${ip.value}`)) continue;
    if (reserve(o, leases, ip)) return ipConfig(ip, range);
  }
  throw new CniError(
    CNI_ERROR_CODE.IPAM_RANGE_EXHAUSTED,
    `no IP addresses available in ${where}: every address is leased; release leaked leases (CNI GC, or delete files of dead containers under the lease directory) or widen the range`,
  );
}
