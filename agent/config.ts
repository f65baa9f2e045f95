// agent/config: the agent's configuration, parsed once (cli.ts) into this immutable value and passed
// explicitly; there are no module-level flag variables. Pure.

import type { IpNet } from "../core/ip.js";
import type { LogLevel } from "./log.js";
import type { IptablesMode } from "./masq/iptables.js";
import { DEFAULT_MASQ_CHAIN } from "./masq/render.js";
import { DEFAULT_CNI_VERSION, DEFAULT_CONFLIST_NAME } from "./reconcilers/conflist.js";
import type { PodCidrs } from "./sources/pod-cidrs.js";

export type SourceConfig =
  | { readonly kind: "static"; readonly podCidrs: PodCidrs }
  | { readonly kind: "static-file"; readonly path: string }
  | { readonly kind: "kubernetes"; readonly kubeconfig: string | undefined; readonly nodeName: string };

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface AgentConfig {
  readonly source: SourceConfig;
  /** The cluster's pod range(s): the default non-masquerade destinations (else the PodCIDR). */
  readonly clusterCidrs: readonly IpNet[];
  readonly cniConfDir: string;
  readonly cniConfName: string;
  readonly cniVersion: string;
  /** host-local dataDir written into the conflist. */
  readonly ipamDataDir: string;
  readonly bridgeName: string;
  /** Explicit pod MTU; undefined = detect. */
  readonly mtu: number | undefined;
  /** ip-masq-agent config file; absent file = defaults. undefined = no file at all. */
  readonly masqConfigPath: string | undefined;
  readonly masqChain: string;
  readonly iptablesMode: "auto" | IptablesMode;
  readonly randomFully: "auto" | "on" | "off";
  /** iptables-restore --wait seconds. */
  readonly lockWaitSeconds: number;
  readonly resyncIntervalMs: number;
  /** /healthz and /metrics; undefined = no HTTP server. */
  readonly listen: ListenAddress | undefined;
  /** /healthz turns 503 when the last good sync is older than this; undefined = 3 x resync interval. */
  readonly healthzMaxAgeMs: number | undefined;
  readonly logLevel: LogLevel;
  /** host-gw: a route to every on-link peer's PodCIDR ("off": the cloud, or nothing, routes between nodes). */
  readonly routes?: "off" | "host-gw";
  /** Static peers for host-gw (re-read at every resync) instead of watching every Node. */
  readonly peersFile?: string | undefined;
  /** This node's name: its own entry among the peers is ignored. */
  readonly nodeName?: string | undefined;
  /** Our FORWARD chain accepting cluster traffic whatever the FORWARD policy (default on). */
  readonly forwardAccept?: "on" | "off";
  /** Declare the "bandwidth" capability in the conflist, so the runtime passes pods' limits (default on). */
  readonly bandwidth?: "on" | "off";
  /** The CNI service's unix socket; undefined = no service (--cni-socket off). */
  readonly cniSocket: string | undefined;
  /** Most worker threads the CNI service runs requests in at once. */
  readonly cniWorkers: number;
  /** The runtime's CRI endpoint for the leaked-lease sweep; undefined = no sweep. */
  readonly criEndpoint?: string | undefined;
  /** Period of the leaked-lease sweep (`kubenet gc`); 0 = only when a pod range is exhausted. */
  readonly gcIntervalMs?: number;
  /** The plugin executable the sweep runs (`kubenet gc`); undefined = `kubenet` beside the agent. */
  readonly gcPlugin?: string | undefined;
  /** Declare the "portMappings" capability in the conflist, so the runtime passes pods' hostPorts (default on). */
  readonly portMappings?: "on" | "off";
}

export const DEFAULTS = {
  cniConfDir: "/etc/cni/net.d",
  cniConfName: DEFAULT_CONFLIST_NAME,
  cniVersion: DEFAULT_CNI_VERSION,
  ipamDataDir: "/var/lib/cni/networks",
  bridgeName: "cbr0",
  masqConfigPath: "/etc/config/ip-masq-agent",
  masqChain: DEFAULT_MASQ_CHAIN,
  lockWaitSeconds: 5,
  resyncIntervalMs: 60_000,
  listen: { host: "127.0.0.1", port: 9970 },
  logLevel: "info",
  routes: "off",
  forwardAccept: "on",
  cniSocket: "/run/kubenet/cni.sock",
  cniWorkers: 16,
  criEndpoint: "unix:///run/containerd/containerd.sock",
  gcIntervalMs: 600_000,
} as const;

/** The age after which /healthz reports the agent as stale. */
export function healthzMaxAge(config: Pick<AgentConfig, "healthzMaxAgeMs">, effectiveResyncMs: number): number {
  return config.healthzMaxAgeMs ?? 3 * effectiveResyncMs;
}

/** The capabilities the conflist declares, so the runtime passes pods' hostPorts and bandwidth limits. */
export function conflistCapabilities(c: Pick<AgentConfig, "portMappings" | "bandwidth">): Record<string, boolean> {
  return { ...(c.portMappings !== "off" ? { portMappings: true } : {}), ...(c.bandwidth !== "off" ? { bandwidth: true } : {}) };
}
