// native/rtnl/route: route requests (one function = one rtnetlink message, named like iproute2) and the
// decoder from RTM_NEWROUTE to `Route`. Pure; rtnl.ts sends them.
// Imports ../netlink codec, ./messages, ./constants, ./ip-bytes and types of core/ip and ../api.

import type { RawAttr, Route, RouteSpec } from "../api.js";
import { attrNested, attrU32, findAttr, nla } from "../netlink/attr.js";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST } from "../netlink/constants.js";
import {
  AF_UNSPEC,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTN_UNSPEC,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
} from "./constants.js";
import { afToFamily, familyToAf } from "./addr.js";
import { bitsOf, formatIp, ipFromBytes, ipToBytes, networkOf, type IpAddr, type IpFamily } from "../../core/ip.js";
import type { RouteMessage } from "./messages.js";

const ACK = NLM_F_REQUEST | NLM_F_ACK;

function familyOf(spec: RouteSpec): IpFamily {
  const families = [spec.dst?.addr.family, spec.gateway?.family, spec.src?.family, spec.family].filter(
    (f): f is IpFamily => f !== undefined,
  );
  const family = families[0];
  if (family === undefined) {
    throw new RangeError("A route needs a family: give dst, gateway or family");
  }
  if (families.some((f) => f !== family)) {
    throw new RangeError(`A route mixes IPv4 and IPv6 (dst, gateway, src and family must agree)`);
  }
  return family;
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`Invalid ${what} ${v}`);
}

/**
 * Builds RTM_NEWROUTE/RTM_DELROUTE. For a delete, fields left undefined are wildcards as in `ip route del`:
 * scope RT_SCOPE_NOWHERE, protocol and type 0 (the kernel then matches any).
 */
function routeMessage(type: typeof RTM_NEWROUTE | typeof RTM_DELROUTE, flags: number, spec: RouteSpec): RouteMessage {
  const family = familyOf(spec);
  const del = type === RTM_DELROUTE;
  const table = spec.table ?? RT_TABLE_MAIN;
  checkU32("table", table);
  const dstLen = spec.dst?.prefixLen ?? 0;
  if (dstLen < 0 || dstLen > bitsOf(family)) throw new RangeError(`Invalid prefix length ${dstLen}`);
  const attrs: RawAttr[] = [];
  // Only the network part of dst: the kernel rejects host bits with EINVAL ("Invalid prefix for given prefix length").
  if (spec.dst !== undefined && dstLen > 0) attrs.push(nla.bytes(RTA_DST, ipToBytes(networkOf(spec.dst).addr)));
  if (spec.gateway !== undefined) attrs.push(nla.bytes(RTA_GATEWAY, ipToBytes(spec.gateway)));
  if (spec.src !== undefined) attrs.push(nla.bytes(RTA_PREFSRC, ipToBytes(spec.src)));
  if (spec.oif !== undefined) {
    checkU32("oif", spec.oif);
    attrs.push(nla.u32(RTA_OIF, spec.oif));
  }
  if (spec.priority !== undefined) {
    checkU32("priority", spec.priority);
    attrs.push(nla.u32(RTA_PRIORITY, spec.priority));
  }
  // rtm_table is 8 bits: larger table ids travel in RTA_TABLE with rtm_table = RT_TABLE_UNSPEC (as iproute2).
  if (table >= 256) attrs.push(nla.u32(RTA_TABLE, table));
  const metrics: RawAttr[] = [];
  if (spec.mtu !== undefined) {
    checkU32("mtu", spec.mtu);
    metrics.push(nla.u32(RTAX_MTU, spec.mtu));
  }
  if (spec.advmss !== undefined) {
    checkU32("advmss", spec.advmss);
    metrics.push(nla.u32(RTAX_ADVMSS, spec.advmss));
  }
  if (metrics.length > 0) attrs.push(nla.nest(RTA_METRICS, metrics));
  const defaultScope = del ? RT_SCOPE_NOWHERE : spec.gateway !== undefined ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  return {
    kind: "route",
    type,
    flags,
    header: {
      family: familyToAf(family),
      dstLen,
      srcLen: 0,
      tos: 0,
      table: table < 256 ? table : RT_TABLE_UNSPEC,
      protocol: spec.protocol ?? (del ? RTPROT_UNSPEC : RTPROT_BOOT),
      scope: spec.scope ?? defaultScope,
      type: spec.type ?? (del ? RTN_UNSPEC : RTN_UNICAST),
      flags: 0,
    },
    attrs,
  };
}

/**
 * `ip route add DST|default [via GW] [dev X] [src S] [metric P] [table T] [mtu M] [advmss A]` — RTM_NEWROUTE,
 * NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK; RTA_METRICS nests RTAX_MTU/RTAX_ADVMSS. Present: EEXIST; gateway not
 * reachable: ENETUNREACH.
 */
export function routeAddRequest(spec: RouteSpec): RouteMessage {
  return routeMessage(RTM_NEWROUTE, ACK | NLM_F_CREATE | NLM_F_EXCL, spec);
}

/** `ip route replace ...` — RTM_NEWROUTE, NLM_F_CREATE|NLM_F_REPLACE|NLM_F_ACK. Tolerates presence. */
export function routeReplaceRequest(spec: RouteSpec): RouteMessage {
  return routeMessage(RTM_NEWROUTE, ACK | NLM_F_CREATE | NLM_F_REPLACE, spec);
}

/**
 * `ip route del ...` — RTM_DELROUTE, NLM_F_ACK; unset fields match anything. Missing: ESRCH, except that
 * IPv6 answers ENOENT when no route exists for the prefix at all (e.g. deleting a missing `default`).
 */
export function routeDelRequest(spec: RouteSpec): RouteMessage {
  return routeMessage(RTM_DELROUTE, ACK, spec);
}

/**
 * `ip route show [table T] [dev X]` — RTM_GETROUTE, NLM_F_DUMP. With NETLINK_GET_STRICT_CHK the kernel filters
 * by RTA_TABLE and RTA_OIF itself. (No table = every table, like `ip route show table all`.)
 */
export function routeListRequest(filter: { family?: IpFamily; table?: number; oif?: number } = {}): RouteMessage {
  const attrs: RawAttr[] = [];
  if (filter.table !== undefined) attrs.push(nla.u32(RTA_TABLE, filter.table));
  if (filter.oif !== undefined) attrs.push(nla.u32(RTA_OIF, filter.oif));
  return {
    kind: "route",
    type: RTM_GETROUTE,
    flags: NLM_F_REQUEST,
    header: {
      family: filter.family === undefined ? AF_UNSPEC : familyToAf(filter.family),
      dstLen: 0,
      srcLen: 0,
      tos: 0,
      table: 0,
      protocol: 0,
      scope: 0,
      type: 0,
      flags: 0,
    },
    attrs,
  };
}

/** RTM_NEWROUTE -> Route; undefined for families other than IPv4/IPv6 (multicast, MPLS...). */
export function decodeRoute(msg: RouteMessage): Route | undefined {
  const h = msg.header;
  const family = afToFamily(h.family);
  if (family === undefined) return undefined;
  let dst: IpAddr | undefined;
  let gateway: IpAddr | undefined;
  let oif: number | undefined;
  let src: IpAddr | undefined;
  let table: number = h.table;
  let priority: number | undefined;
  let mtu: number | undefined;
  let advmss: number | undefined;
  for (const a of msg.attrs) {
    switch (a.type) {
      case RTA_DST:
        dst = ipFromBytes(a.data);
        break;
      case RTA_GATEWAY:
        gateway = ipFromBytes(a.data);
        break;
      case RTA_OIF:
        oif = attrU32(a);
        break;
      case RTA_PREFSRC:
        src = ipFromBytes(a.data);
        break;
      case RTA_TABLE:
        table = attrU32(a);
        break;
      case RTA_PRIORITY:
        priority = attrU32(a);
        break;
      case RTA_METRICS: {
        const m = attrNested(a);
        const mtuAttr = findAttr(m, RTAX_MTU);
        const advmssAttr = findAttr(m, RTAX_ADVMSS);
        if (mtuAttr !== undefined) mtu = attrU32(mtuAttr);
        if (advmssAttr !== undefined) advmss = attrU32(advmssAttr);
        break;
      }
    }
  }
  return {
    family,
    // Kernel surprise: a default route has dst_len 0 and no RTA_DST at all.
    dst: h.dstLen === 0 && dst === undefined ? undefined : { addr: dst ?? { family, value: 0n }, prefixLen: h.dstLen },
    gateway,
    oif,
    src,
    table,
    protocol: h.protocol,
    scope: h.scope,
    type: h.type,
    priority,
    mtu,
    advmss,
    attrs: msg.attrs,
  };
}

/** For error messages: `10.0.0.0/8 via 10.0.0.1 dev 3`. */
export function describeRoute(spec: RouteSpec): string {
  const parts = [spec.dst === undefined ? "default" : `${formatIp(spec.dst.addr)}/${spec.dst.prefixLen}`];
  if (spec.gateway !== undefined) parts.push(`via ${formatIp(spec.gateway)}`);
  if (spec.oif !== undefined) parts.push(`dev #${spec.oif}`);
  if (spec.table !== undefined) parts.push(`table ${spec.table}`);
  if (spec.priority !== undefined) parts.push(`metric ${spec.priority}`);
  return parts.join(" ");
}
