// core/ip: IP address and CIDR values and subnet arithmetic, IPv4 and IPv6, and their canonical text.
// Pure (no I/O) and free of libraries on purpose: native/'s netlink path uses it, and start-up matters there.
// Parsing text into these values is core/ip-parse. Values are immutable `IpAddr`/`IpNet`; arithmetic runs
// on bigint so IPv6 is never a special case.

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

export const bitsOf = (family: IpFamily): 32 | 128 => (family === 4 ? 32 : 128);
const maxOf = (family: IpFamily): bigint => (1n << BigInt(bitsOf(family))) - 1n;

/** Network-order bytes (4 or 16), as netlink carries addresses. */
export function ipToBytes(addr: IpAddr): Uint8Array {
  const len = addr.family === 4 ? 4 : 16;
  const out = new Uint8Array(len);
  let v = addr.value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** 4 or 16 network-order bytes -> IpAddr. @throws RangeError on any other length */
export function ipFromBytes(bytes: Uint8Array): IpAddr {
  if (bytes.length !== 4 && bytes.length !== 16) throw new RangeError(`An IP address has 4 or 16 bytes, not ${bytes.length}`);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, value: v };
}

/** The host part of the subnet as a bit mask (0xff for a /24). */
function hostMask(net: IpNet): bigint {
  return (1n << BigInt(bitsOf(net.addr.family) - net.prefixLen)) - 1n;
}

/**
 * Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, the first longest run of two or more zero groups
 * as "::"), the name host-local gives lease files.
 */
export function formatIp(addr: IpAddr): string {
  const b = ipToBytes(addr);
  if (addr.family === 4) return Array.from(b).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

export function formatCidr(net: IpNet): string {
  return `${formatIp(net.addr)}/${net.prefixLen}`;
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

/** True for IPv6 link-local (fe80::/10) or IPv4 link-local (169.254.0.0/16). */
export function isLinkLocal(addr: IpAddr): boolean {
  return addr.family === 4 ? addr.value >> 16n === 0xa9fen : addr.value >> 118n === 0x3fan;
}

