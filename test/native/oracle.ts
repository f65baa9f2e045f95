// test/native/oracle: `ip -j` output narrowed to the few fields the native kernel tests compare against.
// iproute2 is the independent oracle: these helpers never use our decoder.
import type { TestNetns } from "../support/netns.js";

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address: string | undefined;
  master: string | undefined;
  link: string | undefined;
  link_netnsid: number | undefined;
  promiscuity: number | undefined;
  ifalias: string | undefined;
  linkinfo: { info_kind?: string; info_slave_kind?: string; info_slave_data?: { hairpin?: boolean } } | undefined;
}

export interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  nodad?: boolean;
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  table?: string;
  prefsrc?: string;
  metrics?: { mtu?: number; advmss?: number }[];
}

function asArray(v: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(v)) throw new Error(`ip -j ${what}: expected an array`);
  return v as Record<string, unknown>[];
}

export function ipLinks(ns: TestNetns): IpLink[] {
  return asArray(ns.ipJson(["-d", "link", "show"]), "link show") as unknown as IpLink[];
}

export function ipLink(ns: TestNetns, name: string): IpLink | undefined {
  return ipLinks(ns).find((l) => l.ifname === name);
}

export function ipAddrs(ns: TestNetns, dev: string): IpAddrInfo[] {
  const [link] = asArray(ns.ipJson(["addr", "show", "dev", dev]), "addr show");
  return ((link?.["addr_info"] ?? []) as IpAddrInfo[]).filter((a) => a.family === "inet" || a.family === "inet6");
}

export function ipRoutes(ns: TestNetns, args: readonly string[] = []): IpRoute[] {
  return asArray(ns.ipJson(["route", "show", ...args]), "route show") as unknown as IpRoute[];
}

export function ip6Routes(ns: TestNetns, args: readonly string[] = []): IpRoute[] {
  return asArray(ns.ipJson(["-6", "route", "show", ...args]), "route show") as unknown as IpRoute[];
}
