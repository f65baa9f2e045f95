// plugin/bridge/container-iface: the pod side of the wiring, inside the pod netns: sysctls, addresses, link
// up, routes, `lo` up. Imports native and core; synchronous (sysctls are written while the thread is inside
// the pod netns and it returns at once; netlink work goes through the pod netns' own socket).

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { CniRoute, IpConfig } from "../../core/cni/result.js";
import { formatCidr, formatIp, ipEqual, type IpAddr, type IpFamily, type IpNet } from "../../core/ip.js";
import { RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, type Link, type Route, type RouteSpec } from "../../native/index.js";
import { IFA_F_NODAD, isErrno, kernelStep, wrapKernelError, type NsHandle } from "./netns.js";

export function describeRoute(r: { dst: IpNet; gw?: IpAddr | undefined }): string {
  return `${formatCidr(r.dst)}${r.gw !== undefined ? ` via ${formatIp(r.gw)}` : ""}`;
}

/** The family's gateway: the first IP of that family that carries one (what a route without "gw" uses). */
export function familyGateway(ips: readonly IpConfig[], family: IpFamily): IpAddr | undefined {
  return ips.find((ip) => ip.address.addr.family === family && ip.gateway !== undefined)?.gateway;
}

/**
 * The routes the pod gets and the result reports: the IPAM routes, each with its gateway filled in from its
 * family's gateway, deduplicated; with `isDefaultGateway`, a default route via the gateway for each family
 * that has one and no default route yet. (The reference appends a second default route when the IPAM routes
 * already name 0.0.0.0/0 without "gw", and then depends on the kernel accepting the duplicate.)
 */
export function planRoutes(ips: readonly IpConfig[], ipamRoutes: readonly CniRoute[], isDefaultGateway: boolean): CniRoute[] {
  const out: CniRoute[] = [];
  const same = (a: CniRoute, b: CniRoute): boolean =>
    ipEqual(a.dst.addr, b.dst.addr) &&
    a.dst.prefixLen === b.dst.prefixLen &&
    (a.gw === undefined ? b.gw === undefined : b.gw !== undefined && ipEqual(a.gw, b.gw)) &&
    (a.table ?? RT_TABLE_MAIN) === (b.table ?? RT_TABLE_MAIN) &&
    (a.priority ?? 0) === (b.priority ?? 0);
  const add = (r: CniRoute): void => {
    if (!out.some((o) => same(o, r))) out.push(r);
  };
  for (const r of ipamRoutes) {
    const gw = r.gw ?? familyGateway(ips, r.dst.addr.family);
    add(gw === undefined ? r : { ...r, gw });
  }
  if (isDefaultGateway) {
    for (const family of [4, 6] as const) {
      const gw = familyGateway(ips, family);
      if (gw === undefined) continue;
      const hasDefault = out.some((r) => r.dst.addr.family === family && r.dst.prefixLen === 0 && (r.table ?? RT_TABLE_MAIN) === RT_TABLE_MAIN);
      if (!hasDefault) add({ dst: { addr: { family, value: 0n }, prefixLen: 0 }, gw });
    }
  }
  return out;
}

/**
 * The routes the result reports, from `planRoutes`' output: an IPAM route that had no "gw" is reported as
 * IPAM gave it (the reference bridge's result does the same; the kernel route still goes via the family's
 * gateway), except a default route with `isDefaultGateway`, which the reference reports with its gateway.
 */
export function reportedRoutes(planned: readonly CniRoute[], ipamRoutes: readonly CniRoute[], isDefaultGateway: boolean): CniRoute[] {
  return planned.map((p) => {
    if (p.gw === undefined || (isDefaultGateway && p.dst.prefixLen === 0)) return p;
    const fromGwless = ipamRoutes.some(
      (r) => r.gw === undefined && ipEqual(r.dst.addr, p.dst.addr) && r.dst.prefixLen === p.dst.prefixLen &&
        (r.table ?? RT_TABLE_MAIN) === (p.table ?? RT_TABLE_MAIN) && (r.priority ?? 0) === (p.priority ?? 0),
    );
    const hasOwnGw = ipamRoutes.some((r) => r.gw !== undefined && ipEqual(r.gw, p.gw as IpAddr) && ipEqual(r.dst.addr, p.dst.addr) && r.dst.prefixLen === p.dst.prefixLen);
    if (!fromGwless || hasOwnGw) return p;
    const { gw: _gw, ...withoutGw } = p;
    return withoutGw;
  });
}

function routeSpec(r: CniRoute, oif: number): RouteSpec {
  const spec: { -readonly [K in keyof RouteSpec]: RouteSpec[K] } = {
    family: r.dst.addr.family,
    oif,
    scope: r.scope ?? (r.gw !== undefined ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK),
  };
  if (r.dst.prefixLen > 0) spec.dst = r.dst;
  if (r.gw !== undefined) spec.gateway = r.gw;
  if (r.table !== undefined) spec.table = r.table;
  if (r.priority !== undefined) spec.priority = r.priority;
  if (r.mtu) spec.mtu = r.mtu;
  if (r.advmss) spec.advmss = r.advmss;
  return spec;
}

/** Whether `found` (a kernel route) is the route `want` asks for on interface `oif`. */
export function routeMatches(found: Route, want: CniRoute, oif: number): boolean {
  if (found.family !== want.dst.addr.family) return false;
  const dstLen = found.dst?.prefixLen ?? 0;
  if (dstLen !== want.dst.prefixLen) return false;
  if (dstLen > 0 && found.dst !== undefined && !ipEqual(found.dst.addr, want.dst.addr)) return false;
  if (want.gw !== undefined && (found.gateway === undefined || !ipEqual(found.gateway, want.gw))) return false;
  if (found.oif !== undefined && found.oif !== oif) return false;
  if (found.table !== (want.table ?? RT_TABLE_MAIN)) return false;
  if (want.priority !== undefined && (found.priority ?? 0) !== want.priority) return false;
  return true;
}

export interface ContainerIfaceSpec {
  readonly link: Link;
  /** Addresses for this interface (prefix = the lease's subnet prefix). */
  readonly ips: readonly IpConfig[];
  /** Routes as planned by `planRoutes` (gateways already filled in). */
  readonly routes: readonly CniRoute[];
  /** "enabledad": keep IPv6 duplicate address detection (off by default: IPAM already made them unique). */
  readonly dad?: boolean;
}

/** Configures the pod end; every failure names the step and the value. */
export function configureContainerIface(ns: NsHandle, spec: ContainerIfaceSpec): void {
  const { link } = spec;
  const name = link.name;
  const hasV6 = spec.ips.some((ip) => ip.address.addr.family === 6);
  ns.sysctl([
    // Gratuitous ARP when the address or link changes: neighbours learn a reused IP's new MAC at once.
    { name: `net/ipv4/conf/${name}/arp_notify`, value: "1", optional: true },
    ...(hasV6
      ? [
          { name: "net/ipv6/conf/lo/disable_ipv6", value: "0", optional: true },
          { name: `net/ipv6/conf/${name}/disable_ipv6`, value: "0" },
          // No DAD: the addresses are unique by IPAM, and a tentative address would make the first
          // packets (and any waiting for DAD) cost a second per pod.
          ...(spec.dad === true
            ? [{ name: `net/ipv6/conf/${name}/accept_dad`, value: "1" }, { name: `net/ipv6/conf/${name}/enhanced_dad`, value: "1", optional: true }]
            : [{ name: `net/ipv6/conf/${name}/accept_dad`, value: "0" }]),
          { name: `net/ipv6/conf/${name}/keep_addr_on_down`, value: "1", optional: true },
        ]
      : []),
  ]);
  for (const ip of spec.ips) {
    try {
      ns.rtnl.addrAdd(link.index, ip.address, ip.address.addr.family === 6 && spec.dad !== true ? { flags: IFA_F_NODAD } : {});
    } catch (err) {
      if (!isErrno(err, "EEXIST")) {
        throw wrapKernelError(`could not add address ${formatCidr(ip.address)} to ${q(name)} in the container`, err);
      }
    }
  }
  kernelStep(`could not set ${q(name)} up in the container`, () => ns.rtnl.linkSetUp(link.index));
  for (const route of spec.routes) addRoute(ns, route, link.index, name);
}

function addRoute(ns: NsHandle, route: CniRoute, oif: number, ifName: string): void {
  try {
    ns.rtnl.routeAdd(routeSpec(route, oif));
  } catch (err) {
    if (!isErrno(err, "EEXIST")) {
      throw wrapKernelError(`could not add route ${describeRoute(route)} dev ${q(ifName)} in the container`, err);
    }
    // Identical route already there (e.g. listed twice by a chained config): fine. Anything else is a clash.
    const found = ns.rtnl.routeList({ family: route.dst.addr.family, table: route.table ?? RT_TABLE_MAIN });
    if (!found.some((r) => routeMatches(r, route, oif))) {
      throw new CniError(
        CNI_ERROR_CODE.KERNEL_OPERATION_FAILED,
        `could not add route ${describeRoute(route)} dev ${q(ifName)} in the container: a different route to ` +
          `${formatCidr(route.dst)} already exists there`,
        { cause: err },
      );
    }
  }
}

/** Sets `lo` up in the namespace (kubenet's and the loopback plugin's job; idempotent). */
export function setLoopbackUp(ns: NsHandle): Link {
  const lo = kernelStep("could not find \"lo\" in the container", () => ns.rtnl.linkGet("lo"));
  if (!lo.up) kernelStep("could not set \"lo\" up in the container", () => ns.rtnl.linkSetUp(lo.index));
  return lo;
}
