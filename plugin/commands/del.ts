// plugin/commands/del: CNI DEL for the bridge datapath. Best effort and idempotent (spec): every step runs
// even when an earlier one failed, and whatever is already gone is success: an empty or vanished netns, a
// missing interface, a missing lease, an absent prevResult, a config whose range changed since ADD, a
// repeated DEL. Host state is keyed by (containerID, ifname) through the host veth's alias, never by the
// pod netns, so a leftover host veth is found even when the netns is gone; the ipMasq chain is keyed by
// (network, containerID) like the reference's.

import { delBandwidth } from "../bandwidth/attach.js";
import { q } from "../../core/cni/errors.js";
import { hostVethAlias } from "../../core/cni/host-veth-alias.js";
import { masqContextOf, masqOwnerOf, teardownIpMasq } from "../bridge/ipmasq.js";
import { findContainerNs, openHostNs, wrapKernelError } from "../bridge/netns.js";
import { deleteLinkIfPresent, findHostVeths } from "../bridge/veth.js";
import { ipamCallOf, ipamDel } from "../ipam/index.js";
import { startKubenetHostPortTeardown } from "../portmap/kubenet.js";
import type { DelRequest, PluginContext } from "../types.js";
import { throwCollected } from "./best-effort.js";

/**
 * ipMasq: the container's masquerade chain and its jumps; host ports (kubenet type, when ADD recorded some or
 * the runtime passes them): the CNI-DN chain and its jumps. Both by name (network + container ID): no netns
 * and no address needed, so this also works after the netns is gone (the reference leaks the chain then).
 * Started at once: the iptables tools run while the netlink and lease steps proceed.
 */
function startRuleTeardowns(req: DelRequest, ctx: PluginContext): { what: string; done: Promise<void> }[] {
  const out: { what: string; done: Promise<void> }[] = [];
  if (req.conf.bridge?.ipMasq === true) {
    out.push({ what: `could not remove the masquerading of ${q(req.containerId)}`, done: teardownIpMasq(masqContextOf(req.conf, ctx), masqOwnerOf(req)) });
  }
  const ports = startKubenetHostPortTeardown(ctx, req.conf, req.containerId);
  if (ports !== undefined) out.push({ what: `could not remove the host ports of ${q(req.containerId)}`, done: ports });
  for (const r of out) r.done.catch(() => undefined); // awaited by cmdDel; never an unhandled rejection meanwhile
  return out;
}

export async function cmdDel(req: DelRequest, ctx: PluginContext): Promise<void> {
  const errors: Error[] = [];
  const step = async (what: string, fn: () => void | Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      const e = wrapKernelError(what, err);
      ctx.log.warn(`DEL: ${e.message}`, { containerId: req.containerId, ifName: req.ifName });
      errors.push(e);
    }
  };

  // The iptables teardowns (ipMasq, host ports), by name: started first, awaited in step 4.
  const rules = startRuleTeardowns(req, ctx);

  // 1. The pod end, in the pod netns. Deleting it deletes the host end with it.
  let podEndDeleted = false;
  if (req.netns !== undefined && req.netns !== "") {
    const netns = req.netns;
    await step(`could not delete ${q(req.ifName)} in ${q(netns)}`, () => {
      const ns = findContainerNs(netns);
      if (ns === undefined) {
        ctx.log.info("DEL: the container netns is gone; releasing host state only", { netns });
        return;
      }
      try {
        const link = ns.rtnl.linkFind(req.ifName);
        if (link === undefined) return;
        deleteLinkIfPresent(ns, link.index, `${q(req.ifName)} in the container`);
        podEndDeleted = link.kind === "veth";
      } finally {
        ns.close();
      }
    });
  }

  // 2. A host veth left behind (netns gone but the pair still alive, e.g. a process still holds the
  //    namespace; or a crash mid-ADD): found by the alias ADD wrote on it.
  if (!podEndDeleted) {
    await step(`could not remove the host veth of ${q(req.containerId)}/${q(req.ifName)}`, () => {
      const host = openHostNs(ctx.hostNetnsPath);
      try {
        for (const link of findHostVeths(host, hostVethAlias(req.conf.name, req.containerId, req.ifName))) {
          deleteLinkIfPresent(host, link.index, `host veth ${q(link.name)}`);
          ctx.log.info("DEL: removed a leftover host veth", { veth: link.name });
        }
      } finally {
        host.close();
      }
    });
  }

  // 2b. The IFB of egress shaping, by name, whatever runtimeConfig says now (the host veth's qdiscs went
  //     with the veth).
  await step(`could not remove the IFB of ${q(req.containerId)}`, () => {
    const host = openHostNs(ctx.hostNetnsPath);
    try {
      if (delBandwidth(host, req)) ctx.log.info("DEL: removed the IFB of egress shaping");
    } finally {
      host.close();
    }
  });

  // 3. The lease(s), by (containerID, ifname) in the whole lease directory (not by the current range).
  if (req.conf.ipam !== undefined) {
    await step(`could not release the IP lease of ${q(req.containerId)}/${q(req.ifName)}`, () => ipamDel(ipamCallOf(req, ctx)));
  }

  // 4. The iptables teardowns started above.
  for (const r of rules) await step(r.what, () => r.done);

  throwCollected(errors);
}
