// core/ip-parse: IP address and CIDR text -> values, strictly (Go's net.ParseIP/ParseCIDR grammar, as the
// reference plugins parse). Pure (no I/O); the one module that loads the `ip-address` library (~4 ms of
// start-up), so the netlink path of native/, which only needs core/ip's values, never pays for it.

import { Address4, Address6 } from "ip-address";
import { bitsOf, type IpAddr, type IpNet } from "./ip.js";

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

/** The address of "10.1.2.3" or of "10.1.2.3/24" (the prefix ignored, as host-local takes requested IPs). @throws SyntaxError */
export function parseRequestedIp(text: string): IpAddr {
  return text.includes("/") ? parseCidr(text).addr : parseIp(text);
}
