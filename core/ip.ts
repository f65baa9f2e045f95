// core/ip: IP address and CIDR values and subnet arithmetic, IPv4 and IPv6.
// Pure (no I/O); imports only `ip-address`. Values are parsed once, strictly, at the edge and then passed
// around as immutable `IpAddr`/`IpNet`; arithmetic runs on bigint so IPv6 is never a special case.

import { Address4, Address6 } from "ip-address";
import { bitsOf, hostMask } from "./ip-bits.js";

export type IpFamily = 4 | 6;

/** An IP address. `value` is the address as an unsigned integer of 32 (family 4) or 128 (family 6) bits. */
export interface IpAddr {
  readonly family: IpFamily;
  readonly value: bigint;
}

/**
 * An address with a prefix length, e.g. "10.22.0.5/24". Host bits are kept on purpose: the same value is
 * both an interface address and (through `networkOf`) its subnet, as in CNI's `types.ParseCIDR`.
 */
export interface IpNet {
  readonly addr: IpAddr;
  readonly prefixLen: number;
}

export { bitsOf, hostMask, ipFromBytes, ipToBytes } from "./ip-bits.js";
const maxOf = (family: IpFamily): bigint => (1n << BigInt(bitsOf(family))) - 1n;

// Go's net.ParseIP grammar for IPv4: four decimal octets, no leading zeros, no hex, no spaces.
const V4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// IPv6 characters only (hex, colons, and dots for an embedded IPv4 tail); no zone, brackets or prefix.
const V6_CHARS_RE = /^[0-9a-fA-F:.]+$/;

function v4FromText(text: string): bigint | undefined {
  if (!V4_RE.test(text)) return undefined;
  return new Address4(text).bigInt();
}

function v6FromText(text: string): bigint | undefined {
  if (!V6_CHARS_RE.test(text) || !text.includes(":")) return undefined;
  if (text.includes(".")) {
    // An embedded IPv4 tail must itself be a strict dotted quad ("::ffff:1.2.3.4").
    const tail = text.slice(text.lastIndexOf(":") + 1);
    if (!V4_RE.test(tail)) return undefined;
  }
  if (!Address6.isValid(text)) return undefined;
  return new Address6(text).bigInt();
}


/**
 * Parses an IPv4 or IPv6 address strictly ("1..2.3", " 1.2.3.4", "0x10.0.0.1", "010.0.0.1" and zones are
 * rejected). An IPv4-mapped IPv6 address ("::ffff:1.2.3.4") becomes family 4, as host-local canonicalises it.
 * @throws SyntaxError quoting the text
 */
export function parseIp(text: string): IpAddr {
  const v4 = v4FromText(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = v6FromText(text);
  if (v6 !== undefined) {
    if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
    return { family: 6, value: v6 };
  }
  throw new SyntaxError(`Invalid IP address ${JSON.stringify(text)}`);
}

/** Like `parseIp`, but returns undefined instead of throwing. */
export function tryParseIp(text: string): IpAddr | undefined {
  try {
    return parseIp(text);
  } catch {
    return undefined;
  }
}

/** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6 (the name host-local gives lease files). */
export function formatIp(addr: IpAddr): string {
  if (addr.family === 4) return Address4.fromBigInt(addr.value).correctForm();
  return Address6.fromBigInt(addr.value).correctForm();
}

/**
 * Parses "addr/prefix" strictly. The prefix must be decimal without leading zeros and within the family's
 * bit count. Host bits are kept (see `IpNet`).
 * @throws SyntaxError quoting the text
 */
export function parseCidr(text: string): IpNet {
  const slash = text.indexOf("/");
  const prefixText = slash < 0 ? "" : text.slice(slash + 1);
  if (slash < 0 || !/^(0|[1-9]\d{0,2})$/.test(prefixText)) {
    throw new SyntaxError(`Invalid CIDR ${JSON.stringify(text)}: expected "address/prefix-length"`);
  }
  const addrText = text.slice(0, slash);
  let addr: IpAddr;
  try {
    addr = parseIp(addrText);
  } catch {
    throw new SyntaxError(`Invalid CIDR ${JSON.stringify(text)}: ${JSON.stringify(addrText)} is not an IP address`);
  }
  let prefixLen = Number(prefixText);
  // "::ffff:10.0.0.0/104" is the IPv4 network 10.0.0.0/8.
  if (addr.family === 4 && addrText.includes(":")) prefixLen -= 96;
  if (prefixLen < 0 || prefixLen > bitsOf(addr.family)) {
    throw new SyntaxError(`Invalid CIDR ${JSON.stringify(text)}: prefix length out of range`);
  }
  return { addr, prefixLen };
}

export function tryParseCidr(text: string): IpNet | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

export function formatCidr(net: IpNet): string {
  return `${formatIp(net.addr)}/${net.prefixLen}`;
}

/** Builds an IpNet, checking the prefix length. */
export function ipNet(addr: IpAddr, prefixLen: number): IpNet {
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > bitsOf(addr.family)) {
    throw new RangeError(`Invalid prefix length ${prefixLen} for an IPv${addr.family} address`);
  }
  return { addr, prefixLen };
}


/** The subnet with host bits zeroed: networkOf(10.22.0.5/24) = 10.22.0.0/24. */
export function networkOf(net: IpNet): IpNet {
  return { addr: { family: net.addr.family, value: net.addr.value & ~hostMask(net) & maxOf(net.addr.family) }, prefixLen: net.prefixLen };
}

export function hasHostBits(net: IpNet): boolean {
  return (net.addr.value & hostMask(net)) !== 0n;
}

/** The last address of the subnet (the IPv4 broadcast address). */
export function lastAddressOf(net: IpNet): IpAddr {
  return { family: net.addr.family, value: networkOf(net).addr.value | hostMask(net) };
}

/** IPv4 broadcast address of the subnet (same as `lastAddressOf`). */
export const broadcastOf = lastAddressOf;

/** Number of addresses in the subnet. */
export function sizeOf(net: IpNet): bigint {
  return hostMask(net) + 1n;
}

/**
 * The n-th address of the subnet, counted from the network address (n = 0); negative n counts back from
 * the last address (n = -1). @throws RangeError when n falls outside the subnet
 */
export function nthAddress(net: IpNet, n: bigint | number): IpAddr {
  const i = BigInt(n);
  const size = sizeOf(net);
  if (i >= size || -i > size) {
    throw new RangeError(`Address index ${i} is outside ${formatCidr(networkOf(net))}`);
  }
  const base = networkOf(net).addr.value;
  return { family: net.addr.family, value: i >= 0n ? base + i : base + size + i };
}

export function containsIp(net: IpNet, addr: IpAddr): boolean {
  if (net.addr.family !== addr.family) return false;
  const mask = ~hostMask(net);
  return (net.addr.value & mask) === (addr.value & mask);
}

/** True when the two subnets share at least one address. */
export function overlaps(a: IpNet, b: IpNet): boolean {
  if (a.addr.family !== b.addr.family) return false;
  return containsIp(a, b.addr) || containsIp(b, a.addr);
}

/** True when `inner` lies entirely inside `outer`. */
export function containsNet(outer: IpNet, inner: IpNet): boolean {
  return inner.prefixLen >= outer.prefixLen && containsIp(outer, inner.addr);
}

export function ipEqual(a: IpAddr, b: IpAddr): boolean {
  return a.family === b.family && a.value === b.value;
}

export function netEqual(a: IpNet, b: IpNet): boolean {
  return a.prefixLen === b.prefixLen && ipEqual(a.addr, b.addr);
}

/** Orders IPv4 before IPv6, then numerically. */
export function compareIp(a: IpAddr, b: IpAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** The next address; wraps to 0 after the family's last address. */
export function nextIp(addr: IpAddr): IpAddr {
  return { family: addr.family, value: (addr.value + 1n) & maxOf(addr.family) };
}

/** The previous address; wraps to the family's last address below 0. */
export function prevIp(addr: IpAddr): IpAddr {
  return { family: addr.family, value: (addr.value - 1n) & maxOf(addr.family) };
}

/** The default route's destination for a family: 0.0.0.0/0 or ::/0. */
export function defaultNet(family: IpFamily): IpNet {
  return { addr: { family, value: 0n }, prefixLen: 0 };
}

/** True for IPv6 link-local (fe80::/10) or IPv4 link-local (169.254.0.0/16). */
export function isLinkLocal(addr: IpAddr): boolean {
  return addr.family === 4 ? addr.value >> 16n === 0xa9fen : addr.value >> 118n === 0x3fan;
}

