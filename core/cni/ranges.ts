// core/cni/ranges: host-local's address ranges: the Range values, their maths (containment, overlap, text)
// and their parsing from the config's "ranges" / "range" / runtimeConfig.ipRanges (host-local's range.go
// semantics, plus: the gateway must lie in the subnet, and rangeStart <= rangeEnd). Pure; errors are
// CniErrors 6 (wrong JSON type) and 7 (invalid value), as in netconf.

import { bitsOf, compareIp, containsIp, formatCidr, formatIp, hasHostBits, lastAddressOf, networkOf, nextIp, prevIp, type IpAddr, type IpNet } from "../ip.js";
import { parseCidr } from "../ip-parse.js";
import { q } from "./errors.js";
import { decodeError, invalid, ipAt, isObj, type Json } from "./fields.js";
import { cniVersionAtLeast, type CniVersion } from "./version.js";

/** One host-local range, canonicalised with host-local's defaults. */
export interface Range {
  /** Network form (host bits zero). */
  readonly subnet: IpNet;
  readonly rangeStart: IpAddr;
  readonly rangeEnd: IpAddr;
  /** Skipped by the allocator. Defaults to network + 1. */
  readonly gateway: IpAddr | undefined;
}

/** A non-empty list of ranges of one family: one address is allocated per range set. */
export type RangeSet = readonly [Range, ...Range[]];

// host-local ranges (plugins/ipam/host-local/backend/allocator/range.go semantics, plus: the gateway
// must lie in the subnet, and rangeStart <= rangeEnd).

/** True when `ip` lies in the range's subnet, between rangeStart and rangeEnd. */
export function rangeContains(r: Range, ip: IpAddr): boolean {
  return containsIp(r.subnet, ip) && compareIp(r.rangeStart, ip) <= 0 && compareIp(ip, r.rangeEnd) <= 0;
}

/** host-local's Range.Overlaps: address ranges (not subnets) of one family share an address. */
function rangesOverlap(a: Range, b: Range): boolean {
  if (a.subnet.addr.family !== b.subnet.addr.family) return false;
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) || rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

export function formatRange(r: Range): string {
  return `${formatIp(r.rangeStart)}-${formatIp(r.rangeEnd)}`;
}

/** Parses and canonicalises one range object `{subnet, rangeStart?, rangeEnd?, gateway?}`. */
function parseRange(v: unknown, path: string): Range {
  if (!isObj(v)) throw decodeError(`${path} must be an object like {"subnet":"10.1.0.0/24"}, got ${q(v)}`);
  const subnetText = v["subnet"];
  if (subnetText === undefined || subnetText === null) throw invalid(`${path}.subnet is missing`);
  if (subnetText === "") throw invalid(`${path}.subnet is empty: set the range's network, e.g. "10.244.1.0/24"`);
  if (typeof subnetText !== "string") throw decodeError(`${path}.subnet must be a CIDR string, got ${q(subnetText)}`);
  let subnet: IpNet;
  try {
    subnet = parseCidr(subnetText);
  } catch {
    throw invalid(`${path}.subnet is not a valid CIDR: ${q(subnetText)} (expected e.g. "10.244.1.0/24")`);
  }
  if (subnet.prefixLen > bitsOf(subnet.addr.family) - 2) {
    throw invalid(`${path}.subnet: network ${q(subnetText)} is too small to allocate from (use at most /${bitsOf(subnet.addr.family) - 2})`);
  }
  if (hasHostBits(subnet)) {
    throw invalid(
      `${path}.subnet: network ${q(subnetText)} has host bits set; for a /${subnet.prefixLen} the network address is ${formatIp(networkOf(subnet).addr)}`,
    );
  }
  const inSubnet = (key: string): IpAddr | undefined => {
    const raw = v[key];
    if (raw === undefined || raw === null) return undefined;
    if (raw === "") throw invalid(`${path}.${key} is empty: remove it for the default, or set an address in ${q(subnetText)}`);
    const ip = ipAt(raw, `${path}.${key}`);
    if (!containsIp(subnet, ip)) throw invalid(`${path}.${key} ${q(raw)} is not in subnet ${q(subnetText)}`);
    return ip;
  };
  const gateway = inSubnet("gateway") ?? nextIp(subnet.addr);
  const rangeStart = inSubnet("rangeStart") ?? nextIp(subnet.addr);
  // IPv4: the broadcast address is never allocated; IPv6 has no broadcast.
  const last = lastAddressOf(subnet);
  const rangeEnd = inSubnet("rangeEnd") ?? (subnet.addr.family === 4 ? prevIp(last) : last);
  if (compareIp(rangeStart, rangeEnd) > 0) {
    throw invalid(`${path}: rangeStart ${formatIp(rangeStart)} is after rangeEnd ${formatIp(rangeEnd)}`);
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

/** Parses a range set (non-empty list of ranges of one family that do not overlap). */
export function parseRangeSet(v: unknown, path: string): RangeSet {
  if (!Array.isArray(v)) throw decodeError(`${path} must be a list of ranges like [{"subnet":"10.1.0.0/24"}], got ${q(v)}`);
  if (v.length === 0) throw invalid(`${path} is an empty range set`);
  const ranges = v.map((r, i) => parseRange(r, `${path}[${i}]`));
  const family = ranges[0]!.subnet.addr.family;
  ranges.forEach((r, i) => {
    if (r.subnet.addr.family !== family) throw invalid(`${path} mixes address families (${path}[${i}] is IPv${r.subnet.addr.family})`);
    ranges.slice(0, i).forEach((other, j) => {
      if (rangesOverlap(other, r)) {
        throw invalid(`${path}: ranges ${formatCidr(other.subnet)} (${formatRange(other)}) and ${formatCidr(r.subnet)} (${formatRange(r)}) overlap (${path}[${j}] and ${path}[${i}])`);
      }
    });
  });
  return ranges as unknown as RangeSet;
}

/** The range sets in order, validated together (families, overlaps); lenient (DEL): [] when invalid. */
export function parseRangeSets(sets: readonly { raw: unknown; path: string }[], version: CniVersion, lenient: boolean): RangeSet[] {
  try {
    if (sets.length === 0) throw invalid(`ipam: no IP ranges specified: set ipam.ranges, e.g. [[{"subnet":"10.244.1.0/24"}]]`);
    const ranges = sets.map(({ raw, path }) => (path === "ipam" ? [parseRange((raw as Json[])[0], "ipam")] : parseRangeSet(raw, path)) as RangeSet);
    const perFamily = { 4: 0, 6: 0 };
    ranges.forEach((set) => perFamily[set[0].subnet.addr.family]++);
    if ((perFamily[4] > 1 || perFamily[6] > 1) && !cniVersionAtLeast(version, "0.3.0")) {
      throw invalid(`cniVersion ${q(version)} does not support more than one address per family: use cniVersion "0.3.0" or newer`);
    }
    ranges.forEach((a, i) =>
      ranges.slice(i + 1).forEach((b, k) => {
        const j = i + 1 + k;
        for (const ra of a) for (const rb of b) {
          if (rangesOverlap(ra, rb)) {
            throw invalid(`ipam: range set ${i} (${sets[i]!.path}, ${formatRange(ra)}) overlaps with range set ${j} (${sets[j]!.path}, ${formatRange(rb)})`);
          }
        }
      }),
    );
    return ranges;
  } catch (e) {
    if (!lenient) throw e;
    return [];
  }
}
