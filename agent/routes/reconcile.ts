// agent/routes/reconcile: applies a host-gw plan to the main routing table through rtnetlink, one request
// per changed route and none when the table already matches. Synchronous (native/ calls block).
// Our routes carry HOSTGW_PROTOCOL (`ip route show proto 107`): that is how a restarted agent adopts
// them (nothing is flushed) and how it knows every other route is foreign and must never be touched.

import { formatCidr, formatIp } from "../../core/ip.js";
import { RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, type Addr, type Rtnl } from "../../native/index.js";
import type { ErrnoPredicate } from "../reconcilers/bridge.js";
import { diffRoutes, type DesiredRoute, type KernelRoute } from "./plan.js";

/**
 * The rtm_protocol of our routes. Unassigned in the kernel's and iproute2's lists (Calico uses 80, BIRD 12,
 * zebra 11, BGP daemons 186-192); `echo "107 kubenet" > /etc/iproute2/rt_protos.d/kubenet.conf` names it.
 */
export const HOSTGW_PROTOCOL = 107;

export type RoutesRtnl = Pick<Rtnl, "addrList" | "routeList" | "routeAdd" | "routeReplace" | "routeDel">;

export interface RoutesSyncResult {
  readonly added: readonly string[];
  readonly replaced: readonly string[];
  readonly deleted: readonly string[];
  /** Wanted routes left out because a foreign route holds the destination. */
  readonly conflicts: readonly string[];
  readonly errors: readonly Error[];
  /** Own routes in the table after the sync. */
  readonly owned: number;
}

/** This node's global-scope addresses: their subnets are where a peer is "on-link". */
export function localAddrsOf(addrs: readonly Addr[]): Addr["address"][] {
  return addrs.filter((a) => a.scope === RT_SCOPE_UNIVERSE).map((a) => a.address);
}

const describe = (r: DesiredRoute): string => `${formatCidr(r.dst)} via ${formatIp(r.gateway)} (${r.peer})`;

export function syncRoutes(rtnl: RoutesRtnl, wanted: readonly DesiredRoute[], isErrno: ErrnoPredicate, protocol = HOSTGW_PROTOCOL): RoutesSyncResult {
  const table: KernelRoute[] = rtnl.routeList({ table: RT_TABLE_MAIN });
  const changes = diffRoutes(wanted, table, protocol);
  const added: string[] = [];
  const replaced: string[] = [];
  const deleted: string[] = [];
  const conflicts = changes.conflicts.map((c) => `${describe(c.route)}: held by a foreign route (protocol ${c.foreign.protocol}${c.foreign.gateway === undefined ? "" : ` via ${formatIp(c.foreign.gateway)}`})`);
  const errors: Error[] = [];
  const spec = (r: DesiredRoute): { dst: DesiredRoute["dst"]; gateway: DesiredRoute["gateway"]; protocol: number; table: number } => ({ dst: r.dst, gateway: r.gateway, protocol, table: RT_TABLE_MAIN });
  for (const r of changes.replace) {
    try {
      rtnl.routeReplace(spec(r));
      replaced.push(describe(r));
    } catch (err) {
      errors.push(new Error(`Cannot replace route ${describe(r)}`, { cause: err }));
    }
  }
  for (const r of changes.add) {
    try {
      rtnl.routeAdd(spec(r));
      added.push(describe(r));
    } catch (err) {
      // A foreign route appeared between the dump and the add: it wins (never replaced by us).
      if (isErrno(err, "EEXIST")) conflicts.push(`${describe(r)}: held by a foreign route`);
      else errors.push(new Error(`Cannot add route ${describe(r)}`, { cause: err }));
    }
  }
  for (const r of changes.del) {
    const text = `${r.dst === undefined ? "default" : formatCidr(r.dst)}${r.gateway === undefined ? "" : ` via ${formatIp(r.gateway)}`}`;
    try {
      // Exact match on protocol, gateway and metric: only our own route can be removed.
      rtnl.routeDel({
        ...(r.dst === undefined ? {} : { dst: r.dst }),
        ...(r.gateway === undefined ? {} : { gateway: r.gateway }),
        ...(r.priority === undefined ? {} : { priority: r.priority }),
        protocol,
        table: RT_TABLE_MAIN,
      });
      deleted.push(text);
    } catch (err) {
      if (!isErrno(err, "ESRCH", "ENOENT")) errors.push(new Error(`Cannot delete route ${text}`, { cause: err }));
    }
  }
  const owned = table.filter((r) => r.protocol === protocol).length + added.length - deleted.length;
  return { added, replaced, deleted, conflicts, errors, owned };
}
