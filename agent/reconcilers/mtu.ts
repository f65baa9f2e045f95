// agent/reconcilers/mtu: the pod MTU, detected as kubenet did: the smallest MTU of the links that are up
// and neither loopback nor point-to-point, leaving out our own bridge and every bridge/bond port (pod veths
// would otherwise feed back into the choice), and pod veths that lost their bridge (core/cni/host-veth-alias).
// A veth that is nobody's port counts: it is the uplink of a node that is itself a container or namespace.
// Below 576 (or nothing found) it falls back to 1460. Pure.

import { isHostVethAlias } from "../../core/cni/host-veth-alias.js";
import { IFF_LOOPBACK, IFF_POINTOPOINT, type Link } from "../../native/index.js";

/** Below this, kubenet rejected the detected value (IPv4's minimum datagram size every host must accept). */
const MIN_DETECTED_MTU = 576;
/** kubenet's fallback: 1500 minus room for a typical cloud encapsulation. */
export const FALLBACK_MTU = 1460;

export interface MtuDecision {
  readonly mtu: number;
  /** The link the MTU came from; undefined when the fallback was used. */
  readonly from: string | undefined;
}

export function detectMtu(links: readonly Link[], bridgeName: string): MtuDecision {
  let best: Link | undefined;
  for (const l of links) {
    if (!l.up || (l.flags & (IFF_LOOPBACK | IFF_POINTOPOINT)) !== 0) continue;
    if (l.name === bridgeName || l.master !== undefined || isHostVethAlias(l.alias)) continue;
    if (best === undefined || l.mtu < best.mtu) best = l;
  }
  if (best === undefined || best.mtu < MIN_DETECTED_MTU) return { mtu: FALLBACK_MTU, from: undefined };
  return { mtu: best.mtu, from: best.name };
}
