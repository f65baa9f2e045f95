// core/cni/result: the internal Result (1.1.0 shape, typed values) and its wire forms for every spec
// version, with the Go lib's conversion rules (spec §"Version conversion"). Pure.
// encodeResult(result, v) builds exactly the JSON object of version v; decodeResult(json, v) reads any
// version's JSON (prevResult, a delegated IPAM plugin's stdout) into the internal Result.

import { formatCidr, formatIp, type IpAddr, type IpNet } from "../ip.js";
import { parseCidr, parseIp } from "../ip-parse.js";
import { CNI_ERROR_CODE, CniError, q } from "./errors.js";
import { isObj, type Json } from "./fields.js";
import { isCniVersion, resultShapeOf, type CniVersion } from "./version.js";

export interface CniInterface {
  readonly name: string;
  readonly mac?: string | undefined;
  readonly mtu?: number | undefined; // 1.1.0
  /** The netns path for container-side interfaces; absent for host-side ones. */
  readonly sandbox?: string | undefined;
  readonly socketPath?: string | undefined; // 1.1.0
  readonly pciID?: string | undefined; // 1.1.0
}

export interface IpConfig {
  /** Interface address with its prefix (host bits kept): 10.22.0.5/24. */
  readonly address: IpNet;
  readonly gateway?: IpAddr | undefined;
  /** Index into Result.interfaces; absent in IPAM (abbreviated) results. */
  readonly interface?: number | undefined;
}

export interface CniRoute {
  readonly dst: IpNet;
  readonly gw?: IpAddr | undefined;
  readonly mtu?: number | undefined; // 1.1.0
  readonly advmss?: number | undefined; // 1.1.0
  readonly priority?: number | undefined; // 1.1.0
  readonly table?: number | undefined; // 1.1.0
  readonly scope?: number | undefined; // 1.1.0
}

export interface Dns {
  readonly nameservers?: readonly string[] | undefined;
  readonly domain?: string | undefined;
  readonly search?: readonly string[] | undefined;
  readonly options?: readonly string[] | undefined;
}

export interface Result {
  readonly interfaces: readonly CniInterface[];
  readonly ips: readonly IpConfig[];
  readonly routes: readonly CniRoute[];
  readonly dns: Dns;
}

export const emptyResult = (): Result => ({ interfaces: [], ips: [], routes: [], dns: {} });

// ---------------------------------------------------------------------------------------------------
// Encoding. Field order follows the Go structs so our output reads like the reference plugins'.

function encodeDns(dns: Dns): Json {
  const out: Json = {};
  if (dns.nameservers && dns.nameservers.length > 0) out["nameservers"] = [...dns.nameservers];
  if (dns.domain) out["domain"] = dns.domain;
  if (dns.search && dns.search.length > 0) out["search"] = [...dns.search];
  if (dns.options && dns.options.length > 0) out["options"] = [...dns.options];
  return out;
}

function encodeRoute(r: CniRoute, full: boolean): Json {
  const out: Json = { dst: formatCidr(r.dst) };
  if (r.gw !== undefined) out["gw"] = formatIp(r.gw);
  if (full) {
    if (r.mtu) out["mtu"] = r.mtu;
    if (r.advmss) out["advmss"] = r.advmss;
    if (r.priority) out["priority"] = r.priority;
    if (r.table !== undefined) out["table"] = r.table;
    if (r.scope !== undefined) out["scope"] = r.scope;
  }
  return out;
}

function encodeInterface(i: CniInterface, full: boolean): Json {
  const out: Json = { name: i.name };
  if (i.mac) out["mac"] = i.mac;
  if (full && i.mtu) out["mtu"] = i.mtu;
  if (i.sandbox) out["sandbox"] = i.sandbox;
  if (full && i.socketPath) out["socketPath"] = i.socketPath;
  if (full && i.pciID) out["pciID"] = i.pciID;
  return out;
}

/**
 * The JSON object of `result` in the exact shape of `version` (`cniVersion` first, `dns` always present as
 * the Go lib prints it). @throws CniError INCOMPATIBLE_CNI_VERSION when a 0.1/0.2 result would carry no
 * address ("cannot convert: no valid IP addresses"): that config version cannot express the result.
 */
export function encodeResult(result: Result, version: CniVersion): Json {
  const shape = resultShapeOf(version);
  if (shape === "0.2") return encodeResult02(result, version);
  const full = shape === "1.1";
  const out: Json = { cniVersion: version };
  if (result.interfaces.length > 0) out["interfaces"] = result.interfaces.map((i) => encodeInterface(i, full));
  if (result.ips.length > 0) {
    out["ips"] = result.ips.map((ip) => {
      const o: Json = {};
      if (shape === "0.4") o["version"] = ip.address.addr.family === 4 ? "4" : "6";
      if (ip.interface !== undefined) o["interface"] = ip.interface;
      o["address"] = formatCidr(ip.address);
      if (ip.gateway !== undefined) o["gateway"] = formatIp(ip.gateway);
      return o;
    });
  }
  if (result.routes.length > 0) out["routes"] = result.routes.map((r) => encodeRoute(r, full));
  out["dns"] = encodeDns(result.dns);
  return out;
}

function encodeResult02(result: Result, version: CniVersion): Json {
  // One address per family: the first of each; routes go to the block of their dst's family, and are
  // dropped when that family has no address (the Go lib's convertFrom04x).
  const ip4 = result.ips.find((ip) => ip.address.addr.family === 4);
  const ip6 = result.ips.find((ip) => ip.address.addr.family === 6);
  if (ip4 === undefined && ip6 === undefined) {
    throw new CniError(
      CNI_ERROR_CODE.INCOMPATIBLE_CNI_VERSION,
      `cannot convert: no valid IP addresses (a ${version} result needs at least one address)`,
    );
  }
  const block = (ip: IpConfig): Json => {
    const o: Json = { ip: formatCidr(ip.address) };
    if (ip.gateway !== undefined) o["gateway"] = formatIp(ip.gateway);
    const routes = result.routes.filter((r) => r.dst.addr.family === ip.address.addr.family);
    if (routes.length > 0) o["routes"] = routes.map((r) => encodeRoute(r, false));
    return o;
  };
  const out: Json = { cniVersion: version };
  if (ip4) out["ip4"] = block(ip4);
  if (ip6) out["ip6"] = block(ip6);
  out["dns"] = encodeDns(result.dns);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Decoding. Lenient about unknown keys (they are dropped), strict about the values we use. Its own readers, not
// ./fields': a result's errors are all 6 and name the key quoted after the place ('prevResult.ips[0]: "gateway"
// is not ...'), where a config's name a key path and make an invalid value 7.

function fail(where: string, msg: string): never {
  throw new CniError(CNI_ERROR_CODE.DECODING_FAILURE, `${where}: ${msg}`);
}

function optString(o: Json, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") fail(where, `"${key}" must be a string, got ${q(v)}`);
  return v;
}

function optInt(o: Json, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) fail(where, `"${key}" must be an integer, got ${q(v)}`);
  return v;
}

function optStringList(o: Json, key: string, where: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    fail(where, `"${key}" must be a list of strings, got ${q(v)}`);
  }
  return v as string[];
}

function list(o: Json, key: string, where: string): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(where, `"${key}" must be a list, got ${q(v)}`);
  return v;
}

function cidrAt(o: Json, key: string, where: string): IpNet {
  const v = o[key];
  if (typeof v !== "string") fail(where, `"${key}" must be a CIDR string like "10.1.2.3/24", got ${q(v)}`);
  try {
    return parseCidr(v);
  } catch {
    return fail(where, `"${key}" is not a valid CIDR: ${q(v)}`);
  }
}

function optIpAt(o: Json, key: string, where: string): IpAddr | undefined {
  const v = optString(o, key, where);
  if (v === undefined || v === "") return undefined;
  try {
    return parseIp(v);
  } catch {
    return fail(where, `"${key}" is not a valid IP address: ${q(v)}`);
  }
}

/** Reads a `dns` object (result or config). */
export function decodeDns(v: unknown, where = "dns"): Dns {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) fail(where, `must be an object, got ${q(v)}`);
  const dns: { -readonly [K in keyof Dns]: Dns[K] } = {};
  const ns = optStringList(v, "nameservers", where);
  if (ns) dns.nameservers = ns;
  const domain = optString(v, "domain", where);
  if (domain) dns.domain = domain;
  const search = optStringList(v, "search", where);
  if (search) dns.search = search;
  const options = optStringList(v, "options", where);
  if (options) dns.options = options;
  return dns;
}

/** Reads one route object `{dst, gw?, mtu?, ...}` (result or ipam.routes). */
export function decodeRoute(v: unknown, where: string): CniRoute {
  if (!isObj(v)) fail(where, `a route must be an object like {"dst":"0.0.0.0/0"}, got ${q(v)}`);
  const route: { -readonly [K in keyof CniRoute]: CniRoute[K] } = { dst: cidrAt(v, "dst", where) };
  const gw = optIpAt(v, "gw", where);
  if (gw !== undefined) route.gw = gw;
  for (const key of ["mtu", "advmss", "priority", "table", "scope"] as const) {
    const n = optInt(v, key, where);
    if (n !== undefined) route[key] = n;
  }
  return route;
}

function decodeIpConfig02(v: unknown, family: 4 | 6, where: string): { ip: IpConfig; routes: CniRoute[] } {
  if (!isObj(v)) fail(where, `must be an object, got ${q(v)}`);
  const address = cidrAt(v, "ip", where);
  if (address.addr.family !== family) fail(where, `"ip" ${q(v["ip"])} is not an IPv${family} address`);
  const gateway = optIpAt(v, "gateway", where);
  const routes = list(v, "routes", where).map((r, i) => decodeRoute(r, `${where}.routes[${i}]`));
  return { ip: gateway === undefined ? { address } : { address, gateway }, routes };
}

/**
 * Reads a result JSON of `version` into the internal Result (0.1/0.2 up-converted: ip4 then ip6, routes
 * concatenated, no interfaces). @throws CniError DECODING_FAILURE naming the bad key and value
 */
export function decodeResult(json: unknown, version: CniVersion, where = "result"): Result {
  if (!isObj(json)) fail(where, `must be a JSON object, got ${q(json)}`);
  const dns = decodeDns(json["dns"], `${where}.dns`);
  if (resultShapeOf(version) === "0.2") {
    const ips: IpConfig[] = [];
    const routes: CniRoute[] = [];
    for (const [key, family] of [["ip4", 4], ["ip6", 6]] as const) {
      const block = json[key];
      if (block === undefined || block === null) continue;
      const d = decodeIpConfig02(block, family, `${where}.${key}`);
      ips.push(d.ip);
      routes.push(...d.routes);
    }
    return { interfaces: [], ips, routes, dns };
  }
  const interfaces = list(json, "interfaces", where).map((v, i): CniInterface => {
    const w = `${where}.interfaces[${i}]`;
    if (!isObj(v)) fail(w, `must be an object, got ${q(v)}`);
    const name = optString(v, "name", w);
    if (name === undefined) fail(w, `"name" is missing`);
    const out: { -readonly [K in keyof CniInterface]: CniInterface[K] } = { name };
    for (const key of ["mac", "sandbox", "socketPath", "pciID"] as const) {
      const s = optString(v, key, w);
      if (s) out[key] = s;
    }
    const mtu = optInt(v, "mtu", w);
    if (mtu) out.mtu = mtu;
    return out;
  });
  const ips = list(json, "ips", where).map((v, i): IpConfig => {
    const w = `${where}.ips[${i}]`;
    if (!isObj(v)) fail(w, `must be an object, got ${q(v)}`);
    const address = cidrAt(v, "address", w);
    const ver = v["version"];
    if (ver !== undefined && ver !== "4" && ver !== "6") fail(w, `"version" must be "4" or "6", got ${q(ver)}`);
    if (ver !== undefined && Number(ver) !== address.addr.family) {
      fail(w, `"version" ${q(ver)} does not match address ${q(v["address"])}`);
    }
    const gateway = optIpAt(v, "gateway", w);
    if (gateway !== undefined && gateway.family !== address.addr.family) {
      fail(w, `"gateway" ${q(v["gateway"])} is not in the family of address ${q(v["address"])}`);
    }
    const iface = optInt(v, "interface", w);
    if (iface !== undefined && (iface < 0 || iface >= interfaces.length)) {
      fail(w, `"interface" ${iface} is not an index into "interfaces" (${interfaces.length} entries)`);
    }
    const out: { -readonly [K in keyof IpConfig]: IpConfig[K] } = { address };
    if (gateway !== undefined) out.gateway = gateway;
    if (iface !== undefined) out.interface = iface;
    return out;
  });
  const routes = list(json, "routes", where).map((r, i) => decodeRoute(r, `${where}.routes[${i}]`));
  return { interfaces, ips, routes, dns };
}

/**
 * Reads a result whose version comes from its own `cniVersion` (falling back to `defaultVersion`, as the
 * Go lib fills a prevResult without one from the config). Unknown versions -> code 1.
 */
export function decodeVersionedResult(json: unknown, defaultVersion: CniVersion, where = "result"): Result {
  if (!isObj(json)) fail(where, `must be a JSON object, got ${q(json)}`);
  const v = json["cniVersion"] ?? defaultVersion;
  if (!isCniVersion(v)) {
    throw new CniError(CNI_ERROR_CODE.INCOMPATIBLE_CNI_VERSION, `${where}: unsupported cniVersion ${q(v)}`);
  }
  return decodeResult(json, v, where);
}
