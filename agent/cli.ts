// agent/cli: command line (+ NODE_NAME and the hostname, passed in by main.ts) -> a validated command with
// its AgentConfig. Pure; every mistake is a UsageError that quotes the flag and the value.

import { DEFAULTS, type AgentConfig, type SourceConfig } from "./config.js";
import { cidrList, flagReaders, parseCniSocket, parseListen, pathFlag, UsageError, type FlagReaders } from "./flag-values.js";
import { isLogLevel } from "./log.js";
import { parsePodCidrs } from "./sources/pod-cidrs.js";


export type Command =
  | { readonly kind: "run"; readonly config: AgentConfig; readonly once: boolean }
  | { readonly kind: "cleanup"; readonly config: Omit<AgentConfig, "source"> }
  | { readonly kind: "serve"; readonly config: Omit<AgentConfig, "source"> & { readonly cniSocket: string } }
  | { readonly kind: "help" };

export const USAGE = `Usage:
  kubenet-agent run [flags]        keep the node's pod network in line with its PodCIDR
  kubenet-agent run --once [flags] one sync, print a JSON report on stdout, exit 0 (ok), 1 (failed), 3 (no PodCIDR)
  kubenet-agent cleanup [flags]    remove the masquerade rules and the conflist the agent wrote
                                   (sysctls and cbr0 are left as they are)
  kubenet-agent serve [flags]      only the CNI service (no PodCIDR, no reconcilers): for nodes whose config
                                   something else writes, and for tests

PodCIDR source (one of):
  --static-pod-cidr CIDR[,CIDR]    fixed PodCIDR(s), one per family (no cluster needed)
  --pod-cidr-file PATH             PodCIDR(s) read from a file at every resync (JSON {"podCIDRs":[...]} or text)
  --kubeconfig PATH                watch this node's Node object using a kubeconfig
                                   (default without a static flag: in-cluster service account)
  --node-name NAME                 the Node to watch (default: $NODE_NAME, else the hostname)

Flags:
  --config PATH                    JSON object of flag names and values (command-line flags win)
  --cluster-cidr CIDR[,CIDR]       cluster pod range(s): not masqueraded by default (default: the PodCIDR)
  --cni-conf-dir DIR               (default ${DEFAULTS.cniConfDir})
  --cni-conf-name NAME             (default ${DEFAULTS.cniConfName}; should sort first in the directory)
  --cni-version V                  cniVersion of the conflist (default ${DEFAULTS.cniVersion}; 1.1.0 for containerd 2)
  --ipam-data-dir DIR              host-local dataDir in the conflist (default ${DEFAULTS.ipamDataDir})
  --bridge NAME                    (default ${DEFAULTS.bridgeName})
  --mtu N                          pod MTU (default: detected as kubenet did, fallback 1460)
  --masq-config PATH               ip-masq-agent config, YAML or JSON (default ${DEFAULTS.masqConfigPath}; "" = none)
  --masq-chain NAME                (default ${DEFAULTS.masqChain})
  --iptables-mode auto|legacy|nft|plain   (default auto: detected like kubernetes-sigs/iptables-wrappers)
  --random-fully auto|on|off       MASQUERADE --random-fully (default auto: when iptables supports it)
  --iptables-wait SECONDS          xtables lock wait (default ${DEFAULTS.lockWaitSeconds})
  --resync-interval DURATION       (default 60s; the masq config's resyncInterval overrides it)
  --listen HOST:PORT|off           /healthz and /metrics (default ${DEFAULTS.listen.host}:${DEFAULTS.listen.port})
  --healthz-max-age DURATION       /healthz is 503 when the last good sync is older (default 3 x resync interval)
  --log-level debug|info|warn|error (default info)
  --routes off|host-gw             host-gw: route every other node's PodCIDR via its on-link InternalIP
                                   (default off: the cloud's route table, or nothing, routes between nodes)
  --peers-file PATH                host-gw peers from a file re-read every resync instead of watching all
                                   Nodes: {"nodes":[{"name":"w2","podCIDRs":[...],"internalIPs":[...]}]}
  --forward-accept on|off          our FORWARD chain accepts cluster traffic whatever the policy (default on)
  --bandwidth on|off               declare the "bandwidth" capability: pods' ingress/egress-bandwidth annotations
                                   are shaped by the plugin (default on)
  --cni-socket PATH|off            the CNI service's unix socket (default ${DEFAULTS.cniSocket}); the thin
                                   kubenet executable sends requests there, and runs them itself without it
  --cni-workers N                  most CNI requests run at once, one thread each (default ${DEFAULTS.cniWorkers})
  --cri-endpoint URL|off           the runtime's CRI socket, for the leaked-lease sweep
                                   (default ${DEFAULTS.criEndpoint}; off = no sweep)
  --gc-interval DURATION|0         run \`kubenet gc\` this often (default 10m; 0 = only when a pod range is full)
  --gc-plugin PATH                 the plugin executable the sweep runs (default: kubenet beside the agent)
  --port-mappings on|off           declare the "portMappings" capability: pods' hostPorts are mapped by the
                                   plugin (default on)
`;

const VALUE_FLAGS = new Set([
  "config", "static-pod-cidr", "pod-cidr-file", "kubeconfig", "node-name", "cluster-cidr", "cni-conf-dir", "cni-conf-name",
  "cni-version", "ipam-data-dir", "bridge", "mtu", "masq-config", "masq-chain", "iptables-mode", "random-fully",
  "iptables-wait", "resync-interval", "listen", "healthz-max-age", "log-level",
  "routes", "peers-file", "forward-accept", "bandwidth", "port-mappings", "cni-socket", "cni-workers",
  "cri-endpoint", "gc-interval", "gc-plugin",
]);
const BOOL_FLAGS = new Set(["once", "help"]);

export interface CliEnv {
  readonly nodeName: string | undefined; // $NODE_NAME
  readonly hostname: string;
  /** Reads a --config file (main.ts passes fs.readFileSync); absent = --config is refused. */
  readonly readFile?: (path: string) => string;
}

export function parseCli(argv: readonly string[], env: CliEnv): Command {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === "help" || verb === "--help" || verb === "-h") return { kind: "help" };
  if (verb !== "run" && verb !== "cleanup" && verb !== "serve") {
    throw new UsageError(`Unknown command ${JSON.stringify(verb)}: expected "run", "cleanup" or "serve"`);
  }
  const flags = parseFlags(rest);
  if (flags.has("help")) return { kind: "help" };
  const file = flags.get("config");
  if (file !== undefined) mergeConfigFile(flags, file, env);
  const common = buildCommonConfig(flags);
  if (verb === "cleanup") {
    if (flags.has("once")) throw new UsageError("--once only applies to run");
    return { kind: "cleanup", config: common };
  }
  if (verb === "serve") {
    if (flags.has("once")) throw new UsageError("--once only applies to run");
    if (common.cniSocket === undefined) throw new UsageError("serve needs a CNI socket: --cni-socket off leaves it nothing to do");
    return { kind: "serve", config: { ...common, cniSocket: common.cniSocket } };
  }
  const source = sourceFrom(flags, env);
  return { kind: "run", config: { ...common, ...routesFrom(flags, env, source), source }, once: flags.has("once") };
}

function parseFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("--")) throw new UsageError(`Unexpected argument ${JSON.stringify(arg)}: flags start with "--"`);
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (flags.has(name)) throw new UsageError(`Flag --${name} given twice`);
    if (BOOL_FLAGS.has(name)) {
      if (eq >= 0) throw new UsageError(`Flag --${name} takes no value`);
      flags.set(name, "true");
    } else if (VALUE_FLAGS.has(name)) {
      let value: string | undefined;
      if (eq >= 0) value = arg.slice(eq + 1);
      else value = args[++i];
      if (value === undefined) throw new UsageError(`Flag --${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new UsageError(`Unknown flag --${name} (see kubenet-agent --help)`);
    }
  }
  return flags;
}

/**
 * --config FILE: a JSON object whose keys are flag names without "--" ({"static-pod-cidr": "10.244.1.0/24",
 * "cluster-cidr": ["10.244.0.0/16"], "resync-interval": "10s", "once": true}); flags given on the command
 * line win. Lists become comma-separated values.
 */
function mergeConfigFile(flags: Map<string, string>, path: string, env: CliEnv): void {
  if (env.readFile === undefined) throw new UsageError("--config is not available here");
  let doc: unknown;
  try {
    doc = JSON.parse(env.readFile(path));
  } catch (cause) {
    throw new UsageError(`Cannot read --config ${JSON.stringify(path)}: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new UsageError(`Invalid --config ${JSON.stringify(path)}: expected a JSON object of flag names`);
  for (const [name, value] of Object.entries(doc)) {
    if (name === "config" || !(VALUE_FLAGS.has(name) || name === "once")) {
      throw new UsageError(`Invalid key ${JSON.stringify(name)} in --config ${JSON.stringify(path)}: expected a flag name such as "static-pod-cidr"`);
    }
    if (flags.has(name)) continue;
    if (name === "once") {
      if (value !== true && value !== false) throw new UsageError(`Invalid "once" in --config ${JSON.stringify(path)}: expected true or false`);
      if (value) flags.set(name, "true");
    } else if (typeof value === "string" || typeof value === "number") {
      flags.set(name, String(value));
    } else if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
      flags.set(name, value.join(","));
    } else {
      throw new UsageError(`Invalid ${JSON.stringify(name)} in --config ${JSON.stringify(path)}: expected a string, a number or a list of strings`);
    }
  }
}


/** The names the agent writes with, checked up front: a typo fails at start, not at the first sync. */
function checkedNames(flags: Map<string, string>, str: (name: string) => string | undefined) {
  const logLevel = flags.get("log-level") ?? DEFAULTS.logLevel;
  if (!isLogLevel(logLevel)) throw new UsageError(`Invalid --log-level ${JSON.stringify(logLevel)}: expected debug, info, warn or error`);
  const cniVersion = str("cni-version") ?? DEFAULTS.cniVersion;
  if (!/^\d+\.\d+\.\d+$/.test(cniVersion)) throw new UsageError(`Invalid --cni-version ${JSON.stringify(cniVersion)}: expected a version such as "1.0.0"`);
  const confName = str("cni-conf-name") ?? DEFAULTS.cniConfName;
  if (confName.includes("/") || !/\.(conflist|conf|json)$/.test(confName)) {
    throw new UsageError(`Invalid --cni-conf-name ${JSON.stringify(confName)}: expected a file name ending in .conflist`);
  }
  const chain = str("masq-chain") ?? DEFAULTS.masqChain;
  if (!/^[A-Za-z0-9_-]{1,28}$/.test(chain)) throw new UsageError(`Invalid --masq-chain ${JSON.stringify(chain)}: expected up to 28 letters, digits, "-" or "_"`);
  const bridge = str("bridge") ?? DEFAULTS.bridgeName;
  if (!/^[^\s/:]{1,15}$/.test(bridge)) throw new UsageError(`Invalid --bridge ${JSON.stringify(bridge)}: expected an interface name of 1-15 characters`);
  return { logLevel, cniVersion, confName, chain, bridge };
}

function buildCommonConfig(flags: Map<string, string>): Omit<AgentConfig, "source"> {
  const { str, oneOf, duration, int } = flagReaders(flags);
  const { logLevel, cniVersion, confName, chain, bridge } = checkedNames(flags, str);
  const masqConfig = flags.get("masq-config");
  return {
    clusterCidrs: cidrList("cluster-cidr", str("cluster-cidr")),
    cniConfDir: pathFlag("cni-conf-dir", str("cni-conf-dir")) ?? DEFAULTS.cniConfDir,
    cniConfName: confName,
    cniVersion,
    ipamDataDir: pathFlag("ipam-data-dir", str("ipam-data-dir")) ?? DEFAULTS.ipamDataDir,
    bridgeName: bridge,
    mtu: int("mtu", 576, 65535),
    masqConfigPath: masqConfig === undefined ? DEFAULTS.masqConfigPath : masqConfig === "" ? undefined : masqConfig,
    masqChain: chain,
    iptablesMode: oneOf("iptables-mode", ["auto", "legacy", "nft", "plain"] as const, "auto"),
    randomFully: oneOf("random-fully", ["auto", "on", "off"] as const, "auto"),
    lockWaitSeconds: int("iptables-wait", 1, 600) ?? DEFAULTS.lockWaitSeconds,
    resyncIntervalMs: duration("resync-interval") ?? DEFAULTS.resyncIntervalMs,
    listen: parseListen(str("listen")),
    healthzMaxAgeMs: duration("healthz-max-age"),
    logLevel,
    forwardAccept: oneOf("forward-accept", ["on", "off"] as const, DEFAULTS.forwardAccept),
    ...capabilityFlags(oneOf),
    cniSocket: parseCniSocket(str("cni-socket")),
    cniWorkers: int("cni-workers", 1, 256) ?? DEFAULTS.cniWorkers,
    ...gcConfig(flags, duration),
  };
}

/** --bandwidth, --port-mappings: the capabilities the conflist declares. */
function capabilityFlags(oneOf: FlagReaders["oneOf"]): Pick<AgentConfig, "bandwidth" | "portMappings"> {
  return { bandwidth: oneOf("bandwidth", ["on", "off"] as const, "on"), portMappings: oneOf("port-mappings", ["on", "off"] as const, "on") };
}

/** --cri-endpoint, --gc-interval, --gc-plugin: the leaked-lease sweep. */
function gcConfig(flags: Map<string, string>, duration: FlagReaders["duration"]): Pick<AgentConfig, "criEndpoint" | "gcIntervalMs" | "gcPlugin"> {
  const endpoint = flags.get("cri-endpoint") ?? DEFAULTS.criEndpoint;
  const plugin = flags.get("gc-plugin");
  if (plugin === "") throw new UsageError("Invalid --gc-plugin: empty path");
  return {
    criEndpoint: endpoint === "" || endpoint === "off" ? undefined : endpoint,
    gcIntervalMs: duration("gc-interval", { min: 1000, zero: true }) ?? DEFAULTS.gcIntervalMs,
    gcPlugin: plugin,
  };
}

function sourceFrom(flags: Map<string, string>, env: CliEnv): SourceConfig {
  const staticCidr = flags.get("static-pod-cidr");
  const file = flags.get("pod-cidr-file");
  const kubeconfig = flags.get("kubeconfig");
  const given = [staticCidr !== undefined && "--static-pod-cidr", file !== undefined && "--pod-cidr-file", kubeconfig !== undefined && "--kubeconfig"].filter(Boolean);
  if (given.length > 1) throw new UsageError(`Choose one PodCIDR source: ${given.join(" and ")} were both given`);
  if (staticCidr !== undefined) {
    try {
      return { kind: "static", podCidrs: parsePodCidrs(staticCidr.split(",").map((s) => s.trim())) };
    } catch (cause) {
      throw new UsageError(`Invalid --static-pod-cidr: ${(cause as Error).message}`, { cause });
    }
  }
  if (file !== undefined) {
    if (file === "") throw new UsageError("Invalid --pod-cidr-file: empty path");
    return { kind: "static-file", path: file };
  }
  const nodeName = flags.get("node-name") ?? (env.nodeName !== undefined && env.nodeName !== "" ? env.nodeName : env.hostname);
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) {
    throw new UsageError(`Invalid node name ${JSON.stringify(nodeName)}: expected a DNS subdomain (set --node-name or NODE_NAME)`);
  }
  return { kind: "kubernetes", kubeconfig, nodeName };
}

function routesFrom(flags: Map<string, string>, env: CliEnv, source: SourceConfig): Pick<AgentConfig, "routes" | "peersFile" | "nodeName"> {
  const routes = flags.get("routes") ?? DEFAULTS.routes;
  if (routes !== "off" && routes !== "host-gw") throw new UsageError(`Invalid --routes ${JSON.stringify(routes)}: expected off or host-gw`);
  const peersFile = flags.get("peers-file");
  if (peersFile !== undefined && routes !== "host-gw") throw new UsageError("--peers-file only applies with --routes host-gw");
  if (peersFile === "") throw new UsageError("Invalid --peers-file: empty path");
  if (routes === "host-gw" && source.kind !== "kubernetes" && peersFile === undefined) {
    throw new UsageError("--routes host-gw without a Kubernetes API needs --peers-file PATH (the other nodes' PodCIDRs and addresses)");
  }
  const nodeName = source.kind === "kubernetes" ? source.nodeName : (flags.get("node-name") ?? (env.nodeName !== undefined && env.nodeName !== "" ? env.nodeName : env.hostname));
  return { routes, peersFile, nodeName };
}
