// core/cni/netconf: the network configuration on stdin, parsed once into a validated readonly NetConf.
// Pure. Understands the plugin types kubenet, bridge, host-local and loopback. Unknown keys are
// tolerated (kept in `raw`). Errors: 6 = not JSON / a known key of the wrong JSON type, 7 = a value
// that is invalid for the network (bad name, CIDR, gateway, overlap...), 1 = unknown cniVersion.

import type { IpAddr } from "../ip.js";
import { parseBandwidth, type BandwidthEntry } from "./bandwidth.js";
import { CNI_ERROR_CODE, CniError, q } from "./errors.js";
import { configDns, configRoute } from "./config-values.js";
import { decodeError, invalid, isMacText, isObj, optArray, optBool, optInt, optObject, optString, optText, requestedIpAt, textProblem, type Json } from "./fields.js";
import { checkConfigPath, checkLeaseDir } from "./limits.js";
import { NO_HOST_PORTS, parseHostPorts, type HostPortConf } from "./portmap-conf.js";
import { decodeVersionedResult, type CniRoute, type Dns, type Result } from "./result.js";
import { interfaceNameProblem, parseBridge, type BridgeConf } from "./bridge-conf.js";
import { parseRangeSets, type RangeSet } from "./ranges.js";
import { DEFAULT_CNI_VERSION, SUPPORTED_CNI_VERSIONS, isCniVersion, type CniVersion } from "./version.js";
import { agentSocketProblem } from "./peek.js";

export type PluginName = "kubenet" | "bridge" | "host-local" | "loopback" | "bandwidth" | "portmap";

export interface HostLocalIpamConf {
  readonly kind: "host-local";
  readonly type: "host-local";
  readonly ranges: readonly RangeSet[];
  readonly routes: readonly CniRoute[];
  /** Lease directory root; leases live in `<dataDir>/<network name>/`. */
  readonly dataDir: string;
  readonly resolvConf?: string | undefined;
  /**
   * Our extension: on the first ADD after a reboot, release every lease of the previous boot (their
   * namespaces died with it). Default true for the `kubenet` type, false for the drop-ins.
   */
  readonly reclaimAfterReboot: boolean;
}

/** Any other ipam.type: exec'd from CNI_PATH with the same env and stdin. */
export interface DelegatedIpamConf {
  readonly kind: "delegated";
  readonly type: string;
}

export type IpamConf = HostLocalIpamConf | DelegatedIpamConf;

export interface Attachment {
  readonly containerId: string;
  readonly ifName: string;
}

/** Host ports (HostPortConf: portMappings, portMap) are those of the kubenet and portmap types, else none. */
export interface NetConf extends HostPortConf {
  readonly cniVersion: CniVersion;
  readonly name: string;
  /** The config's `type` as written ("" when absent). */
  readonly type: string;
  /** The plugin that runs: the invoked name, or for `kubenet` the config's type. */
  readonly plugin: PluginName;
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
  /** IPAM lock timeout in ms (default 60000). */
  readonly lockTimeoutMs: number;
  /** Traffic shaping (types kubenet and bandwidth): static keys, else runtimeConfig.bandwidth. */
  readonly bandwidth?: BandwidthEntry | undefined;
  /**
   * DEL only: fields that did not parse and were ignored (defaults used instead), one message each, for the
   * log. A DEL releases what it can whatever the rest of its input looks like. Always empty for other commands.
   */
  readonly ignored: readonly string[];
}

export interface ParseNetConfOptions {
  /**
   * DEL: an invalid or missing ipam range list must not stop the release of leases (DEL never depends on
   * the current PodCIDR), so host-local range errors are ignored and `ranges` may be empty.
   */
  readonly lenientIpam?: boolean;
  /**
   * DEL: only what finds the pod's state must parse (JSON object, cniVersion, name, type, ipam.type); any
   * other field that is malformed (prevResult, dns, runtimeConfig, args, routes, bridge keys...) is a hint
   * to ignore: its default is used and the problem is listed in `NetConf.ignored`. Implies lenientIpam.
   */
  readonly del?: boolean;
}

/**
 * Parses one optional part of the config. Strict by default; for DEL (`ignored` given) a CniError becomes
 * an entry in `ignored` and `fallback` is used, so a malformed hint never keeps a lease, veth or rule.
 */
function soft<T>(ignored: string[] | undefined, parse: () => T, fallback: () => T): T {
  if (ignored === undefined) return parse();
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    ignored.push(e.message);
    return fallback();
  }
}

const DEFAULT_DATA_DIR = "/var/lib/cni/networks";
/**
 * The lock is fair (waiters are served in order) and a dead holder's lock is dropped by the kernel, so a long
 * wait is a long queue on a loaded node, which is progress: failing it (11) makes the runtime redo the whole
 * sandbox. The reference host-local waits forever; this bounds the wait well inside kubelet's 2 min.
 */
const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
const MAX_LOCK_TIMEOUT_MS = 10 * 60_000;

export const PLUGIN_NAMES: readonly PluginName[] = ["kubenet", "bridge", "host-local", "loopback", "bandwidth", "portmap"];
export const isPluginName = (v: unknown): v is PluginName => typeof v === "string" && (PLUGIN_NAMES as readonly string[]).includes(v);

/** CNI network names, container IDs: also the lease directory name, so no "/" and no leading ".". */
export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A plugin binary name looked up in CNI_PATH: a file name, never a path. */
const BINARY_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;


function parseHostLocal(ipam: Json, plugin: PluginName, version: CniVersion, runtimeConfig: Json, lenient: boolean, ignored?: string[]): HostLocalIpamConf {
  const sets: { raw: unknown; path: string }[] = [];
  const ipRanges = soft(ignored, () => optArray(runtimeConfig, "ipRanges", "runtimeConfig."), () => undefined);
  ipRanges?.forEach((raw, i) => sets.push({ raw, path: `runtimeConfig.ipRanges[${i}]` }));
  // The legacy single range at the top of ipam is prepended as the first range set (after ipRanges).
  if (ipam["subnet"] !== undefined && ipam["subnet"] !== null) {
    const legacy: Json = {};
    for (const k of ["subnet", "rangeStart", "rangeEnd", "gateway"]) if (ipam[k] !== undefined) legacy[k] = ipam[k];
    sets.push({ raw: [legacy], path: "ipam" });
  }
  soft(ignored, () => optArray(ipam, "ranges", "ipam."), () => undefined)?.forEach((raw, i) => sets.push({ raw, path: `ipam.ranges[${i}]` }));

  const ranges = parseRangeSets(sets, version, lenient);
  const routes = soft(ignored, () => (optArray(ipam, "routes", "ipam.") ?? []).map((r, i) => configRoute(r, `ipam.routes[${i}]`)), () => []);
  const dataDir = soft(ignored, () => optText(ipam, "dataDir", "ipam.", DEFAULT_DATA_DIR) ?? DEFAULT_DATA_DIR, () => DEFAULT_DATA_DIR);
  const resolvConf = soft(
    ignored,
    () => {
      const path = optText(ipam, "resolvConf", "ipam.", "no DNS from a file");
      if (path !== undefined) checkConfigPath("ipam.resolvConf", path);
      return path;
    },
    () => undefined,
  );
  // Off for the drop-ins: the reference host-local may share their directory and knows nothing of boots.
  const reclaimAfterReboot = soft(ignored, () => optBool(ipam, "reclaimAfterReboot", "ipam."), () => undefined) ?? plugin === "kubenet";
  return {
    kind: "host-local",
    type: "host-local",
    ranges,
    routes,
    dataDir,
    ...(resolvConf ? { resolvConf } : {}),
    reclaimAfterReboot,
  };
}

function parseIpam(raw: Json, plugin: PluginName, version: CniVersion, runtimeConfig: Json, lenient: boolean, ignored?: string[]): IpamConf | undefined {
  if (plugin === "loopback" || plugin === "bandwidth" || plugin === "portmap") return undefined;
  // DEL: an ipam section that is not an object cannot name another dataDir: the defaults are where to look.
  const ipam = soft(ignored, () => optObject(raw, "ipam", ""), () => (plugin === "bridge" ? undefined : {}));
  if (ipam === undefined) {
    if (plugin === "host-local") throw invalid(`missing "ipam" section: host-local needs {"ipam":{"type":"host-local","ranges":[...]}}`);
    if (plugin === "kubenet" && !lenient) {
      throw invalid(`missing "ipam" section: kubenet needs {"ipam":{"type":"host-local","ranges":[[{"subnet":"<PodCIDR>"}]]}}`);
    }
    return undefined;
  }
  // Invoked as host-local (e.g. exec'd by a delegating plugin), the ipam section is ours whatever its type
  // (then only its JSON type is checked, as the reference decodes it).
  const dflt = plugin === "kubenet" ? '"host-local"' : 'L2 only, with "ipam": {}';
  const type = soft(ignored, () => (plugin === "host-local" ? void optString(ipam, "type", "ipam.") : optText(ipam, "type", "ipam.", dflt)), () => undefined);
  if (plugin === "host-local" || type === "host-local" || (plugin === "kubenet" && type === undefined)) {
    return parseHostLocal(ipam, plugin, version, runtimeConfig, lenient, ignored);
  }
  if (type === undefined) return undefined; // bridge: `ipam: {}` means L2 only
  if (!BINARY_RE.test(type) || type.includes("..")) {
    throw invalid(`ipam.type ${q(type)} is not a plugin name (a file name in CNI_PATH, no "/")`);
  }
  return { kind: "delegated", type };
}

// ---------------------------------------------------------------------------------------------------
// bridge / kubenet


// ---------------------------------------------------------------------------------------------------

function parseMac(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw decodeError(`${path} must be a MAC address string, got ${q(v)}`);
  if (!isMacText(v)) throw invalid(`${path} ${q(v)} is not a MAC address like "c2:11:22:33:44:55"`);
  return v.toLowerCase();
}

function parseAttachments(v: unknown, key: string): Attachment[] {
  if (!Array.isArray(v)) throw decodeError(`${q(key)} must be a list of {"containerID","ifname"}, got ${q(v)}`);
  return v.map((a, i) => {
    if (!isObj(a) || typeof a["containerID"] !== "string" || typeof a["ifname"] !== "string") {
      throw decodeError(`${q(key)}[${i}] must be {"containerID": string, "ifname": string}, got ${q(a)}`);
    }
    // The runtime's own names: one outside the CNI grammar names no lease (GC would release as if unlisted).
    if (!NAME_RE.test(a["containerID"])) throw invalid(`${q(key)}[${i}].containerID ${q(a["containerID"])} is not a container ID`);
    const problem = interfaceNameProblem(a["ifname"]);
    if (problem) throw invalid(`${q(key)}[${i}].ifname ${q(a["ifname"])} ${problem}`);
    return { containerId: a["containerID"], ifName: a["ifname"] };
  });
}

/** The stdin JSON object, or CniError 6. */
function parseJsonObject(stdin: Uint8Array | string): Json {
  const text = typeof stdin === "string" ? stdin : Buffer.from(stdin).toString("utf8");
  if (text.trim() === "") throw decodeError(`no network configuration on stdin: the runtime must pass the config JSON on stdin`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw decodeError(`network configuration on stdin is not valid JSON: ${why} (starts with ${q(text.slice(0, 40))})`);
  }
  if (!isObj(raw)) throw decodeError(`network configuration on stdin must be a JSON object, got ${q(raw)}`);
  return raw;
}

/** The config's cniVersion, "0.1.0" when absent (the Go lib). @throws CniError 6 (not a string) / 1 (unknown) */
function parseCniVersion(raw: Json): CniVersion {
  const v = raw["cniVersion"];
  if (v === undefined || v === null || v === "") return DEFAULT_CNI_VERSION;
  if (typeof v !== "string") throw decodeError(`cniVersion must be a string like "1.0.0", got ${q(v)}`);
  if (!isCniVersion(v)) {
    throw new CniError(CNI_ERROR_CODE.INCOMPATIBLE_CNI_VERSION, `incompatible CNI versions: config cniVersion ${q(v)} is not supported`, {
      details: `config is ${q(v)}, plugin supports [${SUPPORTED_CNI_VERSIONS.map((s) => q(s)).join(" ")}]`,
    });
  }
  return v;
}

/** The network name, checked against the spec grammar (it names the lease directory). @throws CniError 6/7 */
function parseNetworkName(raw: Json): string {
  const name = raw["name"];
  if (name === undefined || name === null || name === "") throw invalid(`missing network name: set "name" in the network configuration`);
  if (typeof name !== "string") throw decodeError(`name must be a string, got ${q(name)}`);
  if (!NAME_RE.test(name)) {
    throw invalid(`invalid characters found in network name ${q(name)}: use letters, digits, "_", "." and "-", starting with a letter or digit`);
  }
  return name;
}

/** The plugin that serves this config: the invoked name, or for `kubenet` the config's type. */
function pluginFor(raw: Json, invoked: PluginName): PluginName {
  if (invoked !== "kubenet") return invoked;
  const type = raw["type"];
  if (type === undefined || type === null) return "kubenet";
  if (typeof type !== "string") throw decodeError(`type must be a string, got ${q(type)}`);
  if (type === "") throw invalid(`type is empty: set "kubenet" (or another plugin this executable serves), or remove the key`);
  if (!isPluginName(type)) {
    throw invalid(`unknown plugin type ${q(type)}: this executable serves "kubenet", "bridge", "host-local", "loopback", "bandwidth" and "portmap"`);
  }
  return type;
}

/**
 * Parses and validates stdin for `plugin` (the invoked name; "kubenet" lets the config's `type` pick).
 * @throws CniError 6/7/1 with a message quoting the offending key and value
 */
export function parseNetConf(stdin: Uint8Array | string, plugin: PluginName, options: ParseNetConfOptions = {}): NetConf {
  const raw = parseJsonObject(stdin);
  const cniVersion = parseCniVersion(raw);
  const name = parseNetworkName(raw);
  const effective = pluginFor(raw, plugin);
  const typeRaw = raw["type"];
  const type = typeof typeRaw === "string" ? typeRaw : "";
  const ignored: string[] | undefined = options.del === true ? [] : undefined;

  const runtimeConfig = soft(ignored, () => optObject(raw, "runtimeConfig", "") ?? {}, () => ({}));
  const args = soft(ignored, () => optObject(raw, "args", "") ?? {}, () => ({}));
  const { requestedIps, mac } = soft(ignored, () => parseRuntimeRequests(runtimeConfig, args), () => ({ requestedIps: [], mac: undefined }));

  const parsedIpam = parseIpam(raw, effective, cniVersion, runtimeConfig, options.lenientIpam === true || ignored !== undefined, ignored);
  // The lease directory and its files must fit NAME_MAX/PATH_MAX. On DEL a directory that cannot exist holds
  // no lease: nothing to release there.
  const ipam =
    parsedIpam?.kind !== "host-local" || soft(ignored, () => (checkLeaseDir(parsedIpam.dataDir, name), true), () => false) ? parsedIpam : undefined;
  const bridge =
    effective === "kubenet" || effective === "bridge"
      ? soft(
          ignored,
          () => parseBridge(raw, effective, ipam !== undefined),
          // DEL only needs ipMasq (to remove the chain); everything else falls back to the defaults.
          () => parseBridge(typeof raw["ipMasq"] === "boolean" ? { ipMasq: raw["ipMasq"] } : {}, effective, false),
        )
      : undefined;
  const dns = soft(ignored, () => configDns(raw["dns"]), () => ({}));

  const prevRaw = raw["prevResult"];
  const prevResult = soft(
    ignored,
    () => (prevRaw === undefined || prevRaw === null ? undefined : decodeVersionedResult(prevRaw, cniVersion, "prevResult")),
    () => undefined,
  );
  const validAttachments = soft(ignored, () => parseAllAttachments(raw), () => undefined);

  soft(ignored, () => checkAgentSocket(raw["agentSocket"]), () => undefined);
  const logFile = soft(ignored, () => parseLogFile(raw), () => undefined);
  const lockTimeoutMs = soft(ignored, () => parseLockTimeout(raw), () => DEFAULT_LOCK_TIMEOUT_MS);

  return {
    cniVersion,
    name,
    type,
    plugin: effective,
    raw,
    bridge,
    ipam,
    dns,
    prevResult,
    runtimeConfig,
    args,
    requestedIps,
    mac,
    validAttachments,
    logFile,
    lockTimeoutMs,
    bandwidth: effective === "kubenet" || effective === "bandwidth" ? soft(ignored, () => parseBandwidth(raw, runtimeConfig), () => undefined) : undefined,
    ...(effective === "kubenet" || effective === "portmap" ? soft(ignored, () => parseHostPorts(raw, runtimeConfig), () => NO_HOST_PORTS) : NO_HOST_PORTS),
    ignored: ignored ?? [],
  };
}

/** args.cni.ips then runtimeConfig.ips, and the container MAC (runtimeConfig.mac, else args.cni.mac). */
function parseRuntimeRequests(runtimeConfig: Json, args: Json): { requestedIps: IpAddr[]; mac: string | undefined } {
  const argsCni = optObject(args, "cni", "args.") ?? {};
  const requestedIps: IpAddr[] = [];
  (optArray(argsCni, "ips", "args.cni.") ?? []).forEach((v, i) => requestedIps.push(requestedIpAt(v, `args.cni.ips[${i}]`)));
  (optArray(runtimeConfig, "ips", "runtimeConfig.") ?? []).forEach((v, i) => requestedIps.push(requestedIpAt(v, `runtimeConfig.ips[${i}]`)));
  const mac = parseMac(runtimeConfig["mac"], "runtimeConfig.mac") ?? parseMac(argsCni["mac"], "args.cni.mac");
  return { requestedIps, mac };
}

function parseAllAttachments(raw: Json): Attachment[] | undefined {
  let out: Attachment[] | undefined;
  for (const key of ["cni.dev/valid-attachments", "cni.dev/attachments"]) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    out = [...(out ?? []), ...parseAttachments(v, key)];
  }
  return out;
}

function checkAgentSocket(v: unknown): void {
  if (v === undefined || v === null) return;
  const problem = agentSocketProblem(v);
  if (problem !== undefined) throw typeof v === "string" ? invalid(problem) : decodeError(problem);
  const text = textProblem(v as string);
  if (text !== undefined) throw invalid(`agentSocket ${q(v)} ${text}: remove it`);
}

function parseLogFile(raw: Json): string | undefined {
  const path = optText(raw, "logFile", "", "stderr only");
  if (path !== undefined) checkConfigPath("logFile", path);
  return path;
}

function parseLockTimeout(raw: Json): number {
  const ms = optInt(raw, "lockTimeoutMs", "") ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (ms < 1 || ms > MAX_LOCK_TIMEOUT_MS) throw invalid(`lockTimeoutMs ${ms} is out of range: use 1..${MAX_LOCK_TIMEOUT_MS}`);
  return ms;
}

