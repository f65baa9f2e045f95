// plugin/bandwidth/shaping: installs, checks and removes a pod's shaping on the host side, all through
// netlink (native tc ops), the reference bandwidth plugin's recipe:
//   ingress (into the pod): TBF at the root of the host veth;
//   egress (out of the pod): IFB device, TBF at its root, ingress qdisc (ffff:) on the host veth with a u32
//   match-all filter whose mirred action redirects every packet to the IFB's egress.
// Imports core, native (through plugin/bridge/netns) and ./plan; synchronous.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import {
  ETH_P_ALL,
  TCA_EGRESS_REDIR,
  TC_ACT_STOLEN,
  TC_H_INGRESS,
  TC_H_ROOT,
  tbfBurstTolerance,
  tcHandle,
  type Link,
  type TbfParams,
  type TbfState,
} from "../../native/index.js";
import { isErrno, kernelStep, wrapKernelError, type NsHandle } from "../bridge/netns.js";
import type { UndoStack } from "../undo-stack.js";
import { IFB_ALIAS_PREFIX, type ShapingPlan } from "./plan.js";

const ROOT_HANDLE = tcHandle(1, 0);
const INGRESS_HANDLE = tcHandle(0xffff, 0);

export interface ShapingTarget {
  /** The host end of the pod's veth. */
  readonly hostVeth: Link;
  readonly ifbName: string;
  readonly ifbAlias: string;
}

function rootTbfSpec(tbf: TbfParams): { kind: "tbf"; parent: number; handle: number; tbf: TbfParams } {
  return { kind: "tbf", parent: TC_H_ROOT, handle: ROOT_HANDLE, tbf };
}

const describe = (t: TbfParams): string => `rate ${t.rate * 8} bit/s, burst ${t.burst} bytes, limit ${t.limit} bytes`;

/**
 * Installs `plan` for the pod behind `target.hostVeth`; every step pushes its undo on `undo`. Returns the IFB
 * when egress is shaped (the reference reports it as an extra interface).
 */
export function setupShaping(host: NsHandle, target: ShapingTarget, plan: ShapingPlan, undo: UndoStack): Link | undefined {
  const veth = target.hostVeth;
  if (plan.ingress !== undefined) {
    const tbf = plan.ingress;
    kernelStep(`could not shape traffic into the pod on ${q(veth.name)} (TBF ${describe(tbf)})`, () => host.rtnl.qdiscAdd(veth.index, rootTbfSpec(tbf)));
    undo.push(`remove the TBF qdisc of ${q(veth.name)}`, () => deleteQdiscIfPresent(host, veth.index, { parent: TC_H_ROOT }));
  }
  if (plan.egress === undefined) return undefined;
  const tbf = plan.egress;
  const ifb = createIfb(host, target, veth.mtu);
  undo.push(`delete IFB ${q(target.ifbName)}`, () => {
    deleteIfbIfPresent(host, target.ifbName);
  });
  kernelStep(`could not set the alias of IFB ${q(target.ifbName)}`, () => host.rtnl.linkSetAlias(ifb.index, target.ifbAlias));
  kernelStep(`could not add the ingress qdisc to ${q(veth.name)}`, () => host.rtnl.qdiscAdd(veth.index, { kind: "ingress" }));
  undo.push(`remove the ingress qdisc of ${q(veth.name)}`, () =>
    deleteQdiscIfPresent(host, veth.index, { parent: TC_H_INGRESS, handle: INGRESS_HANDLE, kind: "ingress" }),
  );
  kernelStep(`could not redirect the traffic of ${q(veth.name)} to IFB ${q(target.ifbName)}`, () =>
    host.rtnl.filterAdd(veth.index, {
      parent: INGRESS_HANDLE,
      priority: 1,
      protocol: ETH_P_ALL,
      classId: tcHandle(1, 1),
      mirred: { action: TC_ACT_STOLEN, eaction: TCA_EGRESS_REDIR, ifindex: ifb.index },
    }),
  );
  kernelStep(`could not shape traffic out of the pod on IFB ${q(target.ifbName)} (TBF ${describe(tbf)})`, () =>
    host.rtnl.qdiscAdd(ifb.index, rootTbfSpec(tbf)),
  );
  return host.rtnl.linkGetByIndex(ifb.index);
}

function createIfb(host: NsHandle, target: ShapingTarget, mtu: number): Link {
  try {
    return host.rtnl.linkAddIfb({ name: target.ifbName, mtu, up: true });
  } catch (err) {
    if (isErrno(err, "EEXIST")) {
      throw new CniError(
        CNI_ERROR_CODE.INTERFACE_EXISTS,
        `IFB device ${q(target.ifbName)} already exists: another attachment of this network and container ID shapes egress already (run DEL for it first)`,
      );
    }
    throw wrapKernelError(`could not create IFB device ${q(target.ifbName)}`, err);
  }
}

function deleteQdiscIfPresent(host: NsHandle, index: number, spec: { parent: number; handle?: number; kind?: string }): void {
  try {
    host.rtnl.qdiscDel(index, spec);
  } catch (err) {
    // Gone with its device, or never made: nothing to undo.
    if (!isErrno(err, "ENOENT", "EINVAL", "ENODEV")) throw err;
  }
}

/** DEL: removes the IFB by name (its qdiscs go with it); already gone is success. Returns whether it existed. */
export function deleteIfbIfPresent(host: NsHandle, name: string): boolean {
  const ifb = host.rtnl.linkFind(name);
  if (ifb === undefined) return false;
  if (ifb.kind !== "ifb") throw new CniError(CNI_ERROR_CODE.KERNEL_OPERATION_FAILED, `${q(name)} is a ${ifb.kind ?? "device without a kind"}, not an IFB: not deleting it`);
  try {
    host.rtnl.linkDel(ifb.index);
  } catch (err) {
    if (!isErrno(err, "ENODEV")) throw wrapKernelError(`could not delete IFB ${q(name)}`, err);
  }
  return true;
}

function mismatch(msg: string): CniError {
  return new CniError(CNI_ERROR_CODE.CHECK_MISMATCH, msg);
}

/** Compares a dumped TBF with the asked one: rate and limit exactly, the burst to one tick of the rate. */
function compareTbf(where: string, got: TbfState | undefined, want: TbfParams): void {
  if (got === undefined) throw mismatch(`${where}: no TBF qdisc at the root (want ${describe(want)})`);
  if (got.rate !== want.rate) throw mismatch(`${where}: TBF rate is ${got.rate * 8} bit/s, the config asks ${want.rate * 8}`);
  if (got.limit !== want.limit) throw mismatch(`${where}: TBF limit is ${got.limit} bytes, the config asks ${want.limit}`);
  if (Math.abs(got.burst - want.burst) > tbfBurstTolerance(want.rate)) {
    throw mismatch(`${where}: TBF burst is ${got.burst} bytes, the config asks ${want.burst}`);
  }
}

function rootTbf(host: NsHandle, index: number): TbfState | undefined {
  const root = host.rtnl.qdiscList(index).find((x) => x.parent === TC_H_ROOT);
  return root?.kind === "tbf" ? root.tbf : undefined;
}

/** CHECK: the kernel's qdiscs, IFB and redirect match `plan`. @throws CniError 105 naming the first difference */
export function checkShaping(host: NsHandle, target: ShapingTarget, plan: ShapingPlan): void {
  const veth = target.hostVeth;
  if (plan.ingress !== undefined) compareTbf(`host veth ${q(veth.name)}`, rootTbf(host, veth.index), plan.ingress);
  if (plan.egress === undefined) return;
  const ifb = host.rtnl.linkFind(target.ifbName);
  if (ifb === undefined || ifb.kind !== "ifb") throw mismatch(`IFB device ${q(target.ifbName)} for egress shaping does not exist`);
  compareTbf(`IFB ${q(target.ifbName)}`, rootTbf(host, ifb.index), plan.egress);
  if (!host.rtnl.qdiscList(veth.index).some((x) => x.kind === "ingress")) throw mismatch(`host veth ${q(veth.name)} has no ingress qdisc (egress shaping)`);
  const redirected = host.rtnl
    .filterList(veth.index, INGRESS_HANDLE)
    .some((f) => f.u32?.actions.some((a) => a.mirred?.eaction === TCA_EGRESS_REDIR && a.mirred.ifindex === ifb.index));
  if (!redirected) throw mismatch(`host veth ${q(veth.name)} does not redirect its traffic to IFB ${q(target.ifbName)}`);
}

/** GC: IFBs we made for `network` (by alias) whose attachment is not in `validAliases`. Returns the names removed. */
export function gcIfbs(host: NsHandle, network: string, validAliases: ReadonlySet<string>): string[] {
  const prefix = `${IFB_ALIAS_PREFIX}${network}:`;
  const removed: string[] = [];
  for (const l of host.rtnl.linkList()) {
    if (l.kind !== "ifb" || l.alias === undefined || !l.alias.startsWith(prefix) || validAliases.has(l.alias)) continue;
    try {
      host.rtnl.linkDel(l.index);
      removed.push(l.name);
    } catch (err) {
      if (!isErrno(err, "ENODEV")) throw wrapKernelError(`could not delete IFB ${q(l.name)}`, err);
    }
  }
  return removed;
}
