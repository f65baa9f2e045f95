// plugin/ipam: address management for the plugin. host-local (in-process, byte-compatible with the
// reference plugin's lease directory) or a delegated IPAM plugin exec'd from CNI_PATH (spec §"Delegation").
// May import core/ and native/index.ts. host-local returns promises (it waits for the lease lock off the
// thread); a delegate runs synchronously through spawnSync.
// The lease lock is held only around lease-directory operations, never across netlink work or an exec.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { Attachment, HostLocalIpamConf, NetConf } from "../../core/cni/netconf.js";
import type { Result } from "../../core/cni/result.js";
import type { PluginContext } from "../types.js";
import { delegateAdd, delegateRun } from "./delegate.js";
import { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, hostLocalStatus } from "./host-local.js";

export interface IpamCall {
  readonly containerId: string;
  readonly ifName: string;
  readonly conf: NetConf;
  readonly cniPath: readonly string[];
  readonly ctx: PluginContext;
  readonly cniArgs: ReadonlyMap<string, string>;
}

/** The IPAM call of a CNI request (ADD, CHECK or DEL): who asks, for which interface, with what config. */
export function ipamCallOf(req: { containerId: string; ifName: string; conf: NetConf; cniPath: readonly string[]; cniArgs: ReadonlyMap<string, string> }, ctx: PluginContext): IpamCall {
  return { containerId: req.containerId, ifName: req.ifName, conf: req.conf, cniPath: req.cniPath, cniArgs: req.cniArgs, ctx };
}

function ipamOf(conf: NetConf): NonNullable<NetConf["ipam"]> {
  if (conf.ipam === undefined) {
    throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `network ${q(conf.name)} has no "ipam" section (or no ipam.type)`);
  }
  return conf.ipam;
}

function hostLocalCall(call: IpamCall, ipam: HostLocalIpamConf) {
  return {
    conf: call.conf,
    ipam,
    owner: { containerId: call.containerId, ifName: call.ifName },
    cniArgs: call.cniArgs,
    log: call.ctx.log,
    ...(call.ctx.leaseLocker ? { locker: call.ctx.leaseLocker } : {}),
  };
}

type MaybePromise<T> = T | Promise<T>;

/** Allocates one address per range set (or runs the delegate's ADD). Result is abbreviated (no interfaces). */
export function ipamAdd(call: IpamCall): MaybePromise<Result> {
  const ipam = ipamOf(call.conf);
  if (ipam.kind === "host-local") return hostLocalAdd(hostLocalCall(call, ipam));
  return delegateAdd({ type: ipam.type, conf: call.conf, cniPath: call.cniPath, ctx: call.ctx });
}

/** Releases every lease of (containerId, ifName); missing leases and changed ranges are fine. */
export function ipamDel(call: IpamCall): MaybePromise<void> {
  const ipam = call.conf.ipam;
  if (ipam === undefined) return; // L2 only: nothing was allocated
  if (ipam.kind === "host-local") return hostLocalDel(hostLocalCall(call, ipam));
  delegateRun({ type: ipam.type, command: "DEL", conf: call.conf, cniPath: call.cniPath, ctx: call.ctx });
}

/** Verifies a lease exists for (containerId, ifName) (or runs the delegate's CHECK). */
export function ipamCheck(call: IpamCall): MaybePromise<void> {
  const ipam = call.conf.ipam;
  if (ipam === undefined) return;
  if (ipam.kind === "host-local") return hostLocalCheck(hostLocalCall(call, ipam));
  delegateRun({ type: ipam.type, command: "CHECK", conf: call.conf, cniPath: call.cniPath, ctx: call.ctx });
}

/** Releases every lease whose (containerId, ifName) is not in `valid`, and garbage lease files. */
export function ipamGc(conf: NetConf, valid: readonly Attachment[], ctx: PluginContext, cniPath: readonly string[] = []): MaybePromise<void> {
  const ipam = conf.ipam;
  if (ipam === undefined) return;
  if (ipam.kind === "host-local") return hostLocalGc(conf, ipam, valid, ctx.log);
  delegateRun({ type: ipam.type, command: "GC", conf, cniPath, ctx });
}

/** CniError 50 when a range set has no free address (or the delegate's STATUS). */
export function ipamStatus(conf: NetConf, ctx: PluginContext, cniPath: readonly string[] = []): void {
  const ipam = conf.ipam;
  if (ipam === undefined) return;
  if (ipam.kind === "host-local") return hostLocalStatus(conf, ipam, { log: ctx.log });
  delegateRun({ type: ipam.type, command: "STATUS", conf, cniPath, ctx });
}
