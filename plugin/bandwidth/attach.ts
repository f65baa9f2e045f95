// plugin/bandwidth/attach: the bandwidth steps of one attachment, shared by the `kubenet` type (called from
// plugin/commands add/check/del/gc with the host veth it made) and the `bandwidth` drop-in (which finds the
// host veth from prevResult). Imports core, ./plan, ./shaping; synchronous.

import { bandwidthIsZero } from "../../core/cni/bandwidth.js";
import type { Attachment, NetConf } from "../../core/cni/netconf.js";
import type { CniInterface } from "../../core/cni/result.js";
import type { Link } from "../../native/index.js";
import type { NsHandle } from "../bridge/netns.js";
import type { UndoStack } from "../undo-stack.js";
import { ifbAlias, ifbDeviceName, shapingPlan } from "./plan.js";
import { checkShaping, deleteIfbIfPresent, gcIfbs, setupShaping, type ShapingTarget } from "./shaping.js";

interface Who {
  readonly conf: NetConf;
  readonly containerId: string;
  readonly ifName: string;
}

function targetOf(req: Who, hostVeth: Link): ShapingTarget {
  return { hostVeth, ifbName: ifbDeviceName(req.conf.name, req.containerId), ifbAlias: ifbAlias(req.conf.name, req.containerId, req.ifName) };
}

/** ADD: shapes the pod when the config asks for it; returns the IFB as a result interface (as the reference). */
export function addBandwidth(host: NsHandle, req: Who, hostVeth: Link, undo: UndoStack): CniInterface | undefined {
  const bw = req.conf.bandwidth;
  if (bw === undefined || bandwidthIsZero(bw)) return undefined;
  const ifb = setupShaping(host, targetOf(req, hostVeth), shapingPlan(bw), undo);
  return ifb === undefined ? undefined : { name: ifb.name, mac: ifb.mac };
}

/** CHECK: rate, burst and limit of both directions, the IFB and the redirect. */
export function checkBandwidth(host: NsHandle, req: Who, hostVeth: Link): void {
  const bw = req.conf.bandwidth;
  if (bw === undefined || bandwidthIsZero(bw)) return;
  checkShaping(host, targetOf(req, hostVeth), shapingPlan(bw));
}

/** DEL: the IFB, by the reference's name (the TBF on the host veth dies with the veth). Gone is success. */
export function delBandwidth(host: NsHandle, req: Who): boolean {
  return deleteIfbIfPresent(host, ifbDeviceName(req.conf.name, req.containerId));
}

/** GC: our IFBs of this network whose attachment is not valid any more. */
export function gcBandwidth(host: NsHandle, conf: NetConf, valid: readonly Attachment[]): string[] {
  return gcIfbs(host, conf.name, new Set(valid.map((a) => ifbAlias(conf.name, a.containerId, a.ifName))));
}
