// agent/routes/plan: host-gw as pure functions. From the peers and this node's own addresses, the routes
// the main table should hold (`PodCIDR via <peer address>`, one per peer and family, only when the peer's
// address is on a directly connected subnet), what cannot be routed and why; then, from the routes the
// kernel holds, the changes that get there. Pure (unit-tested in plan.test.ts); reconcile.ts applies them.

import { containsIp, formatCidr, formatIp, ipEqual, networkOf, overlaps, type IpAddr, type IpFamily, type IpNet } from "../../core/ip.js";
import type { PodCidrs } from "../sources/pod-cidrs.js";
import type { Peer } from "./peers.js";

export interface DesiredRoute {
  readonly dst: IpNet;
  readonly gateway: IpAddr;
  readonly peer: string;
}

/** A peer (or one family of it) that gets no route, and why. */
export interface Unrouted {
  readonly peer: string;
  readonly family: IpFamily | undefined;
  readonly reason: "off-link" | "no-address" | "invalid" | "overlap";
  readonly detail: string;
}

export interface HostGwInput {
  /** This node's name: its own entry among the peers is ignored. */
  readonly nodeName: string | undefined;
  readonly podCidrs: PodCidrs | undefined;
  /** This node's addresses with their prefix (global scope): their subnets are the on-link ones. */
  readonly localAddrs: readonly IpNet[];
  readonly peers: readonly Peer[];
}

export interface HostGwPlan {
  readonly routes: readonly DesiredRoute[];
  readonly unrouted: readonly Unrouted[];
}

/** A map key for a subnet: family, prefix length and network address. */
const netKey = (n: IpNet): string => `${n.addr.family}/${n.prefixLen}/${networkOf(n).addr.value}`;

/**
 * The PodCIDRs claimed so far, indexed by prefix length, so that a new one is checked for overlap in a
 * few lookups instead of against every earlier peer (500 nodes: 500 lookups, not 125,000 comparisons).
 */
class Claims {
  readonly #byLen = new Map<number, Map<string, { net: IpNet; owner: string }>>();

  add(net: IpNet, owner: string): void {
    let group = this.#byLen.get(net.prefixLen);
    if (group === undefined) this.#byLen.set(net.prefixLen, (group = new Map()));
    group.set(netKey(net), { net, owner });
  }

  /** A claimed subnet sharing addresses with `net`: one containing it, or one inside it. */
  find(net: IpNet): { net: IpNet; owner: string } | undefined {
    for (const [len, group] of this.#byLen) {
      if (len <= net.prefixLen) {
        const hit = group.get(netKey({ addr: net.addr, prefixLen: len }));
        if (hit !== undefined && hit.net.addr.family === net.addr.family) return hit;
      } else {
        for (const c of group.values()) if (overlaps(c.net, net)) return c;
      }
    }
    return undefined;
  }
}

const isSelf = (peer: Peer, input: HostGwInput): boolean =>
  peer.name === input.nodeName || peer.internalIps.some((ip) => input.localAddrs.some((a) => ipEqual(a.addr, ip)));

/** The first address of `family` that lies on a connected subnet (not one of our own addresses). */
function onLinkAddress(ips: readonly IpAddr[], localAddrs: readonly IpNet[]): IpAddr | undefined {
  return ips.find((ip) => localAddrs.some((a) => a.prefixLen < (ip.family === 4 ? 32 : 128) && containsIp(networkOf(a), ip) && !ipEqual(a.addr, ip)));
}

export function planHostGw(input: HostGwInput): HostGwPlan {
  const routes: DesiredRoute[] = [];
  const unrouted: Unrouted[] = [];
  const claims = new Claims();
  for (const own of input.podCidrs ?? []) claims.add(own, "this node");
  // Sorted by name: when two peers claim overlapping PodCIDRs, the same one wins on every node and sync.
  const peers = [...input.peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const peer of peers) {
    if (isSelf(peer, input)) continue;
    if (peer.problem !== undefined) {
      unrouted.push({ peer: peer.name, family: undefined, reason: "invalid", detail: peer.problem });
      continue;
    }
    for (const dst of peer.podCidrs) {
      const family = dst.addr.family;
      const taken = claims.find(dst);
      if (taken !== undefined) {
        unrouted.push({ peer: peer.name, family, reason: "overlap", detail: `PodCIDR ${formatCidr(dst)} overlaps ${formatCidr(taken.net)} of ${taken.owner}` });
        continue;
      }
      const ips = peer.internalIps.filter((ip) => ip.family === family);
      if (ips.length === 0) {
        unrouted.push({ peer: peer.name, family, reason: "no-address", detail: `no IPv${family} InternalIP for PodCIDR ${formatCidr(dst)}` });
        continue;
      }
      const gateway = onLinkAddress(ips, input.localAddrs);
      if (gateway === undefined) {
        unrouted.push({ peer: peer.name, family, reason: "off-link", detail: `${ips.map(formatIp).join(", ")} not on a directly connected subnet` });
        continue;
      }
      routes.push({ dst, gateway, peer: peer.name });
      claims.add(dst, peer.name);
    }
  }
  return { routes, unrouted };
}

/** A route the kernel holds in the main table (the fields the diff needs). */
export interface KernelRoute {
  readonly dst: IpNet | undefined;
  readonly gateway: IpAddr | undefined;
  readonly protocol: number;
  readonly priority: number | undefined;
}

export interface RouteChanges {
  readonly add: readonly DesiredRoute[];
  /** Own routes whose gateway changed: replaced in place (no moment without a route). */
  readonly replace: readonly DesiredRoute[];
  /** Own routes no longer wanted (peer gone, PodCIDR moved, duplicates). */
  readonly del: readonly KernelRoute[];
  /** Wanted routes whose destination is held by a route that is not ours: left alone, reported. */
  readonly conflicts: readonly { readonly route: DesiredRoute; readonly foreign: KernelRoute }[];
}

export function isEmpty(c: RouteChanges): boolean {
  return c.add.length + c.replace.length + c.del.length === 0;
}

/** Compares the wanted routes with the main table; routes with `protocol` are ours, all others foreign. */
export function diffRoutes(wanted: readonly DesiredRoute[], table: readonly KernelRoute[], protocol: number): RouteChanges {
  const own = table.filter((r) => r.protocol === protocol && r.dst !== undefined);
  const ownByDst = groupByDst(own);
  const foreignByDst = groupByDst(table.filter((r) => r.protocol !== protocol));
  const add: DesiredRoute[] = [];
  const replace: DesiredRoute[] = [];
  const conflicts: { route: DesiredRoute; foreign: KernelRoute }[] = [];
  const kept = new Set<KernelRoute>();
  for (const w of wanted) {
    const mine = ownByDst.get(netKey(w.dst)) ?? [];
    const exact = mine.find((r) => r.gateway !== undefined && ipEqual(r.gateway, w.gateway));
    if (exact !== undefined) {
      kept.add(exact);
      continue;
    }
    const other = foreignByDst.get(netKey(w.dst))?.[0];
    if (other !== undefined) {
      conflicts.push({ route: w, foreign: other });
      continue;
    }
    const first = mine[0];
    if (first === undefined) {
      add.push(w);
    } else {
      kept.add(first);
      replace.push(w);
    }
  }
  return { add, replace, del: own.filter((r) => !kept.has(r)), conflicts };
}

function groupByDst(routes: readonly KernelRoute[]): Map<string, KernelRoute[]> {
  const out = new Map<string, KernelRoute[]>();
  for (const r of routes) {
    if (r.dst === undefined) continue;
    const key = netKey(r.dst);
    const list = out.get(key);
    if (list === undefined) out.set(key, [r]);
    else list.push(r);
  }
  return out;
}
