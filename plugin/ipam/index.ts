// plugin/ipam: address management for the plugin. host-local (in-process, byte-compatible with the
// reference plugin's lease directory) or a delegated IPAM plugin exec'd from CNI_PATH (spec §"Delegation").
// May import core/ and native/index.ts. Synchronous except where a delegate runs (still sync: spawnSync).
// The lease lock is held only around lease-directory operations, never across netlink work.

import type { Attachment, NetConf } from "../../core/cni/netconf.js";
import type { Result } from "../../core/cni/result.js";
import type { PluginContext } from "../types.js";

export interface IpamCall {
  readonly containerId: string;
  readonly ifName: string;
  readonly conf: NetConf;
  readonly cniPath: readonly string[];
  readonly ctx: PluginContext;
  readonly cniArgs: ReadonlyMap<string, string>;
}

/** Allocates one address per range set (or runs the delegate's ADD). Result is abbreviated (no interfaces). */
export function ipamAdd(call: IpamCall): Result {
  void call;
  throw new Error("ipamAdd: not implemented yet");
}

/** Releases every lease of (containerId, ifName); missing leases and changed ranges are fine. */
export function ipamDel(call: IpamCall): void {
  void call;
  throw new Error("ipamDel: not implemented yet");
}

/** Verifies a lease exists for (containerId, ifName) (or runs the delegate's CHECK). */
export function ipamCheck(call: IpamCall): void {
  void call;
  throw new Error("ipamCheck: not implemented yet");
}

/** Releases every lease whose (containerId, ifName) is not in `valid`, and garbage lease files. */
export function ipamGc(conf: NetConf, valid: readonly Attachment[], ctx: PluginContext, cniPath: readonly string[] = []): void {
  void conf, valid, ctx, cniPath;
  throw new Error("ipamGc: not implemented yet");
}

/** CniError 50 when a range set has no free address (or the delegate's STATUS). */
export function ipamStatus(conf: NetConf, ctx: PluginContext, cniPath: readonly string[] = []): void {
  void conf, ctx, cniPath;
  throw new Error("ipamStatus: not implemented yet");
}
