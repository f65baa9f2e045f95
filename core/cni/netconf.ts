// core/cni/netconf: the network configuration on stdin, parsed once into a validated readonly NetConf.
// Pure. Understands the plugin types kubenet, bridge, host-local and loopback. Unknown keys are
// tolerated (kept in `raw`). Errors: 6 = not JSON / a known key of the wrong JSON type, 7 = a value
// that is invalid for the network (bad name, CIDR, gateway, overlap...), 1 = unknown cniVersion.

import type { IpAddr, IpNet } from "../ip.js";
import { CNI_ERROR_CODE, CniError } from "./errors.js";
import type { CniRoute, Dns, Result } from "./result.js";
import type { CniVersion } from "./version.js";

export type PluginName = "kubenet" | "bridge" | "host-local" | "loopback";

/** One host-local range, canonicalised with host-local's defaults. */
export interface Range {
  /** Network form (host bits zero). */
  readonly subnet: IpNet;
  readonly rangeStart: IpAddr;
  readonly rangeEnd: IpAddr;
  /** Skipped by the allocator. Defaults to network + 1. */
  readonly gateway: IpAddr | undefined;
}

/** A non-empty list of ranges of one family: one address is allocated per range set. */
export type RangeSet = readonly [Range, ...Range[]];

export interface HostLocalIpamConf {
  readonly kind: "host-local";
  readonly type: "host-local";
  readonly ranges: readonly RangeSet[];
  readonly routes: readonly CniRoute[];
  /** Lease directory root; leases live in `<dataDir>/<network name>/`. */
  readonly dataDir: string;
  readonly resolvConf?: string | undefined;
}

/** Any other ipam.type: exec'd from CNI_PATH with the same env and stdin. */
export interface DelegatedIpamConf {
  readonly kind: "delegated";
  readonly type: string;
}

export type IpamConf = HostLocalIpamConf | DelegatedIpamConf;

export interface VlanTrunk {
  readonly id?: number | undefined;
  readonly minID?: number | undefined;
  readonly maxID?: number | undefined;
}

export interface BridgeConf {
  readonly bridge: string;
  readonly isGateway: boolean;
  readonly isDefaultGateway: boolean;
  readonly forceAddress: boolean;
  readonly ipMasq: boolean;
  readonly ipMasqBackend: "iptables" | "nftables" | undefined;
  /** 0 = kernel default. */
  readonly mtu: number;
  readonly hairpinMode: boolean;
  readonly promiscMode: boolean;
  /** 0 = no VLAN. */
  readonly vlan: number;
  readonly vlanTrunk: readonly VlanTrunk[];
  readonly preserveDefaultVlan: boolean;
  readonly macspoofchk: boolean;
  readonly enabledad: boolean;
  readonly disableContainerInterface: boolean;
  readonly portIsolation: boolean;
}

export interface Attachment {
  readonly containerId: string;
  readonly ifName: string;
}

export interface NetConf {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  /** The whole parsed stdin object, unknown keys included. */
  readonly raw: Readonly<Record<string, unknown>>;
  /** Set for kubenet and bridge. */
  readonly bridge: BridgeConf | undefined;
  /** undefined when there is no ipam section, or it is `{}` (L2 only). */
  readonly ipam: IpamConf | undefined;
  /** The config's `dns` (bridge: replaces IPAM's dns in the result when non-empty). */
  readonly dns: Dns;
  readonly prevResult: Result | undefined;
  readonly runtimeConfig: Readonly<Record<string, unknown>>;
  /** The `args` object (e.g. {cni: {ips, mac, labels}}), {} when absent. */
  readonly args: Readonly<Record<string, unknown>>;
  /** IPs requested through args.cni.ips then runtimeConfig.ips (CNI_ARGS IP= is added by IPAM). */
  readonly requestedIps: readonly IpAddr[];
  /** Container MAC: runtimeConfig.mac, else args.cni.mac (CNI_ARGS MAC= is the caller's fallback). */
  readonly mac: string | undefined;
  /** GC only: `cni.dev/valid-attachments` (or the lib's alias `cni.dev/attachments`). */
  readonly validAttachments: readonly Attachment[] | undefined;
  readonly logFile: string | undefined;
  /** IPAM lock timeout in ms (default 10000). */
  readonly lockTimeoutMs: number;
}

export interface ParseNetConfOptions {
  /**
   * DEL: an invalid or missing ipam range list must not stop the release of leases (DEL never depends on
   * the current PodCIDR), so host-local range errors are ignored and `ranges` may be empty.
   */
  readonly lenientIpam?: boolean;
}

export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/**
 * Parses and validates stdin for `plugin` (the invoked name; "kubenet" lets the config's `type` pick).
 * @throws CniError 6/7/1/2 with a message quoting the offending key and value
 */
export function parseNetConf(stdin: Uint8Array | string, plugin: PluginName, options: ParseNetConfOptions = {}): NetConf {
  void stdin;
  void plugin;
  void options;
  throw new CniError(CNI_ERROR_CODE.INTERNAL, "parseNetConf: not implemented yet");
}
