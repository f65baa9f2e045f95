// plugin/bandwidth/commands: the reference `bandwidth` plugin as a drop-in (installed as /opt/cni/bin/bandwidth,
// chained after a plugin that made a veth: bridge, ptp, kubenet). It finds the host veth as the reference
// does (the pod interface's veth peer index, looked up in the host namespace, must be a host interface of
// prevResult), shapes it, and appends the IFB to the result; DEL removes the IFB by the reference's name, so
// either plugin's DEL cleans up after the other. Imports core, native (through plugin/bridge/netns), ./attach.

import { bandwidthIsZero } from "../../core/cni/bandwidth.js";
import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import { emptyResult, type CniInterface, type Result } from "../../core/cni/result.js";
import type { Link } from "../../native/index.js";
import { getContainerNs, openHostNs, usingNs, type NsHandle } from "../bridge/netns.js";
import type { AddRequest, CheckRequest, PluginCommands, PluginContext } from "../types.js";
import { UndoStack } from "../undo-stack.js";
import { addBandwidth, checkBandwidth, delBandwidth, gcBandwidth } from "./attach.js";

const invalid = (msg: string): CniError => new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, msg);

function prevResultOf(req: AddRequest | CheckRequest): Result {
  if (req.conf.prevResult === undefined) {
    throw invalid(`bandwidth must be called as a chained plugin: the config has no "prevResult" (list it after the plugin that makes the veth, e.g. "bridge")`);
  }
  return req.conf.prevResult;
}

/** The reference's getHostInterface: container interface -> veth peer index -> host link -> prevResult entry. */
function findHostVeth(host: NsHandle, container: NsHandle, prev: Result, ifName: string): Link {
  if (prev.interfaces.length === 0) throw invalid(`no interfaces provided: prevResult lists no interface to shape`);
  const pod = container.rtnl.linkFind(ifName);
  if (pod === undefined || pod.kind !== "veth") {
    throw invalid(`container interface ${q(ifName)} has no veth peer: ${pod === undefined ? "it does not exist" : `it is a ${pod.kind ?? "device without a kind"}`}`);
  }
  // The kernel omits IFLA_LINK when the peer's index equals the link's own (in another namespace).
  const peerIndex = pod.parentIndex ?? pod.index;
  const link = host.rtnl.linkFindByIndex(peerIndex);
  if (link === undefined) throw invalid(`veth peer with index ${peerIndex} is not in host ns`);
  const known = prev.interfaces.some((i: CniInterface) => (i.sandbox === undefined || i.sandbox === "") && i.name === link.name);
  if (!known) throw invalid(`no veth peer of container interface found in host ns: ${q(link.name)} is not a host interface of prevResult`);
  return link;
}

async function add(req: AddRequest, ctx: PluginContext): Promise<Result> {
  const bw = req.conf.bandwidth;
  if (bw === undefined || bandwidthIsZero(bw)) return req.conf.prevResult ?? emptyResult();
  const prev = prevResultOf(req);
  const host = openHostNs(ctx.hostNetnsPath);
  const container = getContainerNs(req.netns);
  return usingNs([container, host], async () => {
    const veth = findHostVeth(host, container, prev, req.ifName);
    const undo = new UndoStack();
    try {
      const ifb = addBandwidth(host, req, veth, undo);
      undo.commit();
      return ifb === undefined ? prev : { ...prev, interfaces: [...prev.interfaces, ifb] };
    } catch (err) {
      ctx.log.warn("ADD failed; rolling back", { error: String(err) });
      await undo.unwind(ctx.log);
      throw err;
    }
  });
}

async function check(req: CheckRequest, ctx: PluginContext): Promise<void> {
  const prev = prevResultOf(req);
  const host = openHostNs(ctx.hostNetnsPath);
  const container = getContainerNs(req.netns);
  await usingNs([container, host], () => checkBandwidth(host, req, findHostVeth(host, container, prev, req.ifName)));
}

export const bandwidthCommands: PluginCommands = {
  add,
  check,
  del: async (req, ctx) => {
    const host = openHostNs(ctx.hostNetnsPath);
    await usingNs([host], () => {
      if (delBandwidth(host, req)) ctx.log.info("DEL: removed the IFB of egress shaping");
    });
  },
  gc: async (req, ctx) => {
    const host = openHostNs(ctx.hostNetnsPath);
    await usingNs([host], () => {
      const removed = gcBandwidth(host, req.conf, req.validAttachments);
      if (removed.length > 0) ctx.log.info("GC: removed IFBs of attachments that are no longer valid", { ifbs: removed });
    });
  },
  // Nothing to be ready for: the kernel has tbf/ifb/u32/mirred or ADD says so.
  status: () => undefined,
};
