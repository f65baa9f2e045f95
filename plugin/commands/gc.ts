// plugin/commands/gc: CNI GC (1.1.0) for the bridge datapath. Releases what belongs to attachments that are
// not in cni.dev/valid-attachments (skel also accepts the lib's alias cni.dev/attachments): leases (IPAM GC)
// and host veths on this network's bridge whose alias names an invalid attachment, and with ipMasq the
// masquerade chains of containers that are not valid any more. Keeps going past errors
// and reports them at the end (spec). The runtime runs no ADD/DEL concurrently with GC.

import { gcBandwidth } from "../bandwidth/attach.js";
import { q } from "../../core/cni/errors.js";
import { hostVethAlias, hostVethAliasPrefix } from "../../core/cni/host-veth-alias.js";
import { gcIpMasq, masqContextOf } from "../bridge/ipmasq.js";
import { openHostNs, wrapKernelError } from "../bridge/netns.js";
import { deleteLinkIfPresent } from "../bridge/veth.js";
import { ipamGc } from "../ipam/index.js";
import { gcKubenetHostPorts, hostPortsContextOf } from "../portmap/kubenet.js";
import type { GcRequest, PluginContext } from "../types.js";
import { bridgeConfOf } from "../bridge/bridge.js";
import { collectError, throwCollected } from "./best-effort.js";

export async function cmdGc(req: GcRequest, ctx: PluginContext): Promise<void> {
  const br = bridgeConfOf(req.conf);
  const errors: Error[] = [];
  if (req.conf.ipam !== undefined) await collectError(errors, () => ipamGc(req.conf, req.validAttachments, ctx, req.cniPath));

  const valid = new Set(req.validAttachments.map((a) => hostVethAlias(req.conf.name, a.containerId, a.ifName)));
  const host = openHostNs(ctx.hostNetnsPath);
  try {
    const bridge = host.rtnl.linkFind(br.bridge);
    // Only ports of our bridge whose alias names this network: another network may share the bridge.
    const stale = bridge === undefined
      ? []
      : host.rtnl.linkList().filter((l) => {
          const alias = l.alias;
          return l.kind === "veth" && l.master === bridge.index && alias !== undefined &&
            alias.startsWith(hostVethAliasPrefix(req.conf.name)) && !valid.has(alias);
        });
    for (const link of stale) {
      try {
        deleteLinkIfPresent(host, link.index, `host veth ${q(link.name)}`);
        ctx.log.info("GC: removed the host veth of an attachment that is no longer valid", { veth: link.name, alias: link.alias });
      } catch (err) {
        errors.push(wrapKernelError(`could not remove host veth ${q(link.name)}`, err));
      }
    }
    try {
      const ifbs = gcBandwidth(host, req.conf, req.validAttachments);
      if (ifbs.length > 0) ctx.log.info("GC: removed IFBs of attachments that are no longer valid", { ifbs });
    } catch (err) {
      errors.push(wrapKernelError("could not collect IFB devices", err));
    }
  } finally {
    host.close();
  }

  // ipMasq: chains (and jumps) of this network's containers that are no longer valid, found by the
  // comment the reference writes on every rule (`name: "<net>" id: "<cid>"`).
  const validIds = new Set(req.validAttachments.map((a) => a.containerId));
  if (br.ipMasq) {
    await collectError(errors, async () => {
      const removed = await gcIpMasq(masqContextOf(req.conf, ctx), req.conf.name, validIds);
      if (removed.length > 0) ctx.log.info("GC: removed masquerade chains of attachments that are no longer valid", { chains: removed });
    });
  }

  // Host ports (kubenet type): chains of this network's containers that are no longer valid, by comment.
  if (req.conf.plugin === "kubenet") {
    await collectError(errors, async () => {
      const removed = await gcKubenetHostPorts(hostPortsContextOf(req.conf, ctx), req.conf, validIds);
      if (removed.length > 0) ctx.log.info("GC: removed host-port chains of attachments that are no longer valid", { chains: removed });
    });
  }

  throwCollected(errors, "GC: ");
}
