// core/ip-bits: the IpAddr/IpNet operations that need no parsing: network-order bytes, masks, and text for
// messages. Pure, and free of the ip-address library on purpose: core/ip (parsing) loads it (~4 ms of
// start-up), which the netlink path of native/ does not need. core/ip re-exports what is shared.

import type { IpAddr, IpFamily, IpNet } from "./ip.js";

export const bitsOf = (family: IpFamily): 32 | 128 => (family === 4 ? 32 : 128);

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
export function hostMask(net: IpNet): bigint {
  return (1n << BigInt(bitsOf(net.addr.family) - net.prefixLen)) - 1n;
}

/** The subnet's first address (host bits zeroed). */
export function networkAddr(net: IpNet): IpAddr {
  return { family: net.addr.family, value: net.addr.value & ~hostMask(net) };
}

/** The subnet's last address (the IPv4 broadcast address). */
export function lastAddr(net: IpNet): IpAddr {
  return { family: net.addr.family, value: net.addr.value | hostMask(net) };
}

/** Dotted quad, or RFC 5952 text (lower case, longest run of two or more zero groups as "::"). */
export function formatIpText(addr: IpAddr): string {
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

export function formatCidrText(net: IpNet): string {
  return `${formatIpText(net.addr)}/${net.prefixLen}`;
}
