// core/cni/config-values: the values of a network configuration that share their shape with a result (routes,
// dns), checked as a config must be: what a result may leave loose ("" for no gateway, any integer, any
// nameserver text) is refused here with code 7 and the value quoted, before anything is made. Pure.

import { CniError, q } from "./errors.js";
import { invalid, ipAt, isObj, type Json } from "./fields.js";
import { decodeDns, decodeRoute, type CniRoute, type Dns } from "./result.js";

/** Route attributes as the kernel takes them: [min, max] of each integer key of a config route. */
const ROUTE_INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  mtu: [0, 65535],
  advmss: [0, 65535],
  priority: [0, 0xffffffff],
  table: [0, 0xffffffff],
  scope: [0, 255],
};

/**
 * One route of ipam.routes: a result route's shape (any malformation is 7 here: it is config), plus what a
 * config must not leave to the kernel: a "gw" of "" (remove the key for no gateway) and integers out of range.
 */
export function configRoute(r: unknown, path: string): CniRoute {
  let route: CniRoute;
  try {
    route = decodeRoute(r, path);
  } catch (e) {
    if (e instanceof CniError) throw invalid(e.message);
    throw e;
  }
  const o = r as Json;
  if (o["gw"] === "") throw invalid(`${path}.gw is empty: remove it for a route without a gateway, or set an address`);
  for (const [key, [min, max]] of Object.entries(ROUTE_INT_RANGE)) {
    const n = o[key];
    if (typeof n === "number" && (n < min || n > max)) throw invalid(`${path}.${key} ${n} is out of range: use ${min}..${max}`);
  }
  return route;
}

/** One resolv.conf token: not empty, no whitespace. */
function word(text: string, path: string): void {
  if (text === "" || /\s/.test(text)) {
    throw invalid(`${path} ${q(text)} ${text === "" ? "is empty" : "contains whitespace"}: use one word such as "cluster.local" or "ndots:5"`);
  }
}

/**
 * The config's `dns` (it replaces IPAM's in the result): the shape of a result's (6 when wrong), and each
 * value usable in resolv.conf: nameservers are IP addresses, domain, search and options single words (7).
 */
export function configDns(v: unknown): Dns {
  const dns = decodeDns(v, "dns");
  (dns.nameservers ?? []).forEach((ns, i) => ipAt(ns, `dns.nameservers[${i}]`));
  const domain = isObj(v) ? v["domain"] : undefined;
  if (typeof domain === "string") word(domain, "dns.domain");
  (dns.search ?? []).forEach((d, i) => word(d, `dns.search[${i}]`));
  (dns.options ?? []).forEach((d, i) => word(d, `dns.options[${i}]`));
  return dns;
}
