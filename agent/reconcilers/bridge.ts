// agent/reconcilers/bridge: keeps an existing cbr0 in line with the PodCIDR: its gateway address(es) and
// MTU. Synchronous (rtnetlink through native/).
//
// The agent does not create cbr0: the plugin creates it on the first ADD (with the conflist's gateway and
// MTU), so a node without pods has no bridge and nothing to fix. What the agent owns is the *change*: when
// the PodCIDR moves, the bridge's old gateway address is removed and the new one added before the new
// conflist is written, so the "already has an IP address different from" failure of the reference bridge
// plugin cannot happen here, and an MTU change reaches the bridge too (the bridge plugin
// never changes an existing bridge's MTU).

import { formatCidr, isLinkLocal, netEqual, type IpNet } from "../../core/ip.js";
import type { Addr, Link, Rtnl } from "../../native/index.js";

/** The rtnetlink operations this reconciler uses (a fake in tests implements just these). */
export type BridgeRtnl = Pick<Rtnl, "linkFind" | "addrList" | "addrAdd" | "addrDel" | "linkSetMtu">;

export interface BridgeDesired {
  readonly name: string;
  /** Gateway addresses with the PodCIDR prefix length, e.g. 10.244.1.1/24. */
  readonly addresses: readonly IpNet[];
  readonly mtu: number;
}

export interface BridgePlan {
  readonly remove: readonly IpNet[];
  readonly add: readonly IpNet[];
  readonly setMtu: number | undefined;
}

/**
 * What to change on the bridge: every address that is not a desired gateway is stale (kubenet's
 * clearUnusedBridgeAddresses), except IPv6 link-local ones, which the kernel owns.
 */
export function planBridge(link: Link, addrs: readonly Addr[], desired: BridgeDesired): BridgePlan {
  const current = addrs.filter((a) => a.index === link.index && !(a.family === 6 && isLinkLocal(a.address.addr)));
  return {
    remove: current.filter((a) => !desired.addresses.some((d) => netEqual(d, a.address))).map((a) => a.address),
    add: desired.addresses.filter((d) => !current.some((a) => netEqual(d, a.address))),
    setMtu: link.mtu === desired.mtu ? undefined : desired.mtu,
  };
}

export interface BridgeSyncResult {
  /** False when the bridge does not exist (yet). */
  readonly present: boolean;
  /** Human-readable changes ("removed 10.244.0.1/24", "mtu 1500 -> 1460"); empty when up to date. */
  readonly changes: readonly string[];
}

/** Tolerated errno codes: someone (a concurrent plugin ADD) made the same change first. */
export type ErrnoPredicate = (err: unknown, ...codes: readonly string[]) => boolean;

export function syncBridge(rtnl: BridgeRtnl, desired: BridgeDesired, isErrno: ErrnoPredicate): BridgeSyncResult {
  const link = rtnl.linkFind(desired.name);
  if (link === undefined) return { present: false, changes: [] };
  if (link.kind !== "bridge") {
    // Never "fix" the addresses of someone else's interface that happens to carry the name.
    throw new Error(`Link ${JSON.stringify(desired.name)} exists but is a ${link.kind ?? "device without a kind"}, not a bridge: rename or remove it`);
  }
  const plan = planBridge(link, rtnl.addrList({ index: link.index }), desired);
  const changes: string[] = [];
  for (const a of plan.remove) {
    try {
      rtnl.addrDel(link.index, a);
    } catch (err) {
      if (!isErrno(err, "EADDRNOTAVAIL")) throw new Error(`Cannot remove the stale address ${formatCidr(a)} from ${JSON.stringify(desired.name)}`, { cause: err });
    }
    changes.push(`removed ${formatCidr(a)}`);
  }
  for (const a of plan.add) {
    try {
      rtnl.addrAdd(link.index, a);
    } catch (err) {
      if (!isErrno(err, "EEXIST")) throw new Error(`Cannot add the gateway address ${formatCidr(a)} to ${JSON.stringify(desired.name)}`, { cause: err });
    }
    changes.push(`added ${formatCidr(a)}`);
  }
  if (plan.setMtu !== undefined) {
    try {
      rtnl.linkSetMtu(link.index, plan.setMtu);
    } catch (err) {
      throw new Error(`Cannot set the MTU of ${JSON.stringify(desired.name)} to ${plan.setMtu}`, { cause: err });
    }
    changes.push(`mtu ${link.mtu} -> ${plan.setMtu}`);
  }
  return { present: true, changes };
}
