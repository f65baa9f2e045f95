// plugin/commands/status: CNI STATUS (1.1.0) for the bridge datapath. Success = an ADD now would work.
//   50 NOT_AVAILABLE: the IPAM range has no free address (IPAM STATUS), the bridge name is taken by a
//      non-bridge, or the bridge carries a foreign IPv4 address that ADD would refuse (forceAddress off).
//   51 NOT_AVAILABLE_DEGRADED: ADD would work, but existing pods have impaired connectivity: pod veths
//      (found by their "kubenet:" alias) are not attached to the bridge (it was deleted or recreated), or the
//      bridge is down while it has pod ports.
// A missing bridge with no pod veths is fine: the first ADD creates it. Synchronous apart from a delegate.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import { isHostVethAlias } from "../../core/cni/host-veth-alias.js";
import { formatCidr, ipEqual, isLinkLocal } from "../../core/ip.js";
import { openHostNs } from "../bridge/netns.js";
import { ipamStatus } from "../ipam/index.js";
import type { PluginContext, StatusRequest } from "../types.js";
import { bridgeConfOf } from "../bridge/bridge.js";

export async function cmdStatus(req: StatusRequest, ctx: PluginContext): Promise<void> {
  const conf = req.conf;
  const br = bridgeConfOf(conf);
  const host = openHostNs(ctx.hostNetnsPath);
  try {
    const bridge = host.rtnl.linkFind(br.bridge);
    if (bridge !== undefined && bridge.kind !== "bridge") {
      throw new CniError(
        CNI_ERROR_CODE.NOT_AVAILABLE,
        `${q(br.bridge)} exists but is not a bridge (kind ${q(bridge.kind ?? "none")}): ADD would fail until it is removed`,
      );
    }
    const ipam = conf.ipam;
    if (bridge !== undefined && ipam?.kind === "host-local" && (br.isGateway || br.isDefaultGateway) && !br.forceAddress) {
      const gateways = ipam.ranges.flatMap((set) => set.map((r) => r.gateway)).filter((g) => g !== undefined && g.family === 4);
      const foreign = host.rtnl
        .addrList({ index: bridge.index, family: 4 })
        .find((a) => !isLinkLocal(a.address.addr) && !gateways.some((g) => g !== undefined && ipEqual(g, a.address.addr)));
      if (foreign !== undefined && gateways.length > 0) {
        throw new CniError(
          CNI_ERROR_CODE.NOT_AVAILABLE,
          `bridge ${q(br.bridge)} has address ${formatCidr(foreign.address)}, which is not a gateway of the configured ranges: ` +
            `ADD would fail (set "forceAddress": true or fix the bridge address)`,
        );
      }
    }

    // IPAM after the cheap checks: exhaustion is 50.
    if (ipam !== undefined) await ipamStatus(conf, ctx, req.cniPath);

    const podVeths = host.rtnl
      .linkList()
      .filter((l) => l.kind === "veth" && isHostVethAlias(l.alias));
    const detached = podVeths.filter((l) => bridge === undefined || l.master !== bridge.index);
    // Only detached pod veths that are not on another bridge (another network's ports are not ours).
    const orphaned = detached.filter((l) => l.master === undefined || l.master === 0);
    if (orphaned.length > 0) {
      throw new CniError(
        CNI_ERROR_CODE.NOT_AVAILABLE_DEGRADED,
        `${orphaned.length} pod veth(s) (e.g. ${q(orphaned[0]?.name)}) are not attached to bridge ${q(br.bridge)}` +
          `${bridge === undefined ? " (the bridge is missing)" : ""}: those pods have no connectivity until they are recreated`,
      );
    }
    if (bridge !== undefined && !bridge.up && podVeths.some((l) => l.master === bridge.index)) {
      throw new CniError(CNI_ERROR_CODE.NOT_AVAILABLE_DEGRADED, `bridge ${q(br.bridge)} is down while pods are attached to it`);
    }
  } finally {
    host.close();
  }
}
