// core/cni/conflist: the CNI network configuration list the agent writes for the plugin, as JSON types.
// It is the contract between the two sides that never import each other: agent/reconcilers/conflist renders
// a `KubenetConflist`, the runtime hands each plugin {cniVersion, name} plus that plugin's keys, and the
// plugin reads them with parseNetConf (agent/reconcilers/conflist.test.ts parses what the agent renders).
// Types only, plus the names both sides match on.

/** The network name of the conflist the agent writes (and the directory of its leases under dataDir). */
export const KUBENET_NETWORK = "kubenet";
/** The plugin `type` of our own executable (the drop-ins answer to bridge, host-local, loopback). */
export const KUBENET_TYPE = "kubenet";

/** One host-local range as written in JSON (host-local's "ranges" grammar). */
export interface HostLocalRangeJson {
  readonly subnet: string;
  readonly rangeStart?: string;
  readonly rangeEnd?: string;
  readonly gateway?: string;
}

export interface RouteJson {
  readonly dst: string;
  readonly gw?: string;
}

export interface HostLocalIpamJson {
  readonly type: "host-local";
  /** One inner list per range set: one address is allocated from each. */
  readonly ranges: readonly (readonly HostLocalRangeJson[])[];
  readonly routes?: readonly RouteJson[];
  readonly dataDir?: string;
}

/** The `kubenet` plugin's entry in the list: the bridge keys it shares with the reference bridge plugin. */
export interface KubenetPluginJson {
  readonly type: typeof KUBENET_TYPE;
  readonly bridge?: string;
  readonly mtu?: number;
  readonly hairpinMode?: boolean;
  readonly isGateway?: boolean;
  readonly isDefaultGateway?: boolean;
  readonly forceAddress?: boolean;
  /** The CNI service's unix socket, or "off" (the executable then never tries one). */
  readonly agentSocket?: string;
  readonly ipam: HostLocalIpamJson;
  /** Runtime capabilities: the runtime then passes the pod's values in runtimeConfig. */
  readonly capabilities?: Readonly<Record<string, boolean>>;
}

export interface KubenetConflist {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly [KubenetPluginJson];
}
