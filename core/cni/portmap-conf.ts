// core/cni/portmap-conf: host ports. `runtimeConfig.portMappings` (the `portMappings` capability: containerd
// sends `[{hostPort, containerPort, protocol, hostIP?}]` for every container port with a hostPort) and the
// reference portmap plugin's keys (snat, masqAll, markMasqBit, externalSetMarkChain, conditionsV4/V6,
// backend), parsed and validated. Pure. Errors: 6 = wrong JSON type, 7 = invalid value, 2 = unsupported.

import type { IpAddr, IpFamily } from "../ip.js";
import { parseIp } from "../ip-parse.js";
import { CNI_ERROR_CODE, CniError, q } from "./errors.js";
import { decodeError, invalid, isObj, optBool, type Json } from "./fields.js";
import { goField } from "./go-json.js";

export type PortProtocol = "tcp" | "udp" | "sctp";

export interface PortMapping {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: PortProtocol;
  /** undefined: every local address; an unspecified address (0.0.0.0, ::) means the same for its family. */
  readonly hostIp: IpAddr | undefined;
}

export interface PortMapOptions {
  /** Mark hairpin and localhost connections for masquerade (reference default true). */
  readonly snat: boolean;
  /** Masquerade every connection to a host port, not only hairpin/localhost ones. */
  readonly masqAll: boolean;
  /** The mark bit CNI-HOSTPORT-SETMARK sets (reference default 13 = 0x2000). */
  readonly markMasqBit: number;
  /** A chain someone else owns (e.g. KUBE-MARK-MASQ) used instead of CNI-HOSTPORT-SETMARK/-MASQ. */
  readonly externalSetMarkChain: string | undefined;
  /** Extra iptables match arguments on the entry rules of each family. */
  readonly conditions: Readonly<Record<IpFamily, readonly string[]>>;
}

const DEFAULT_MARK_MASQ_BIT = 13;
/** The reference portmap's defaults: what a config without its keys means (and what DEL uses when it has none). */
export const DEFAULT_PORT_MAP_OPTIONS: PortMapOptions = { snat: true, masqAll: false, markMasqBit: DEFAULT_MARK_MASQ_BIT, externalSetMarkChain: undefined, conditions: { 4: [], 6: [] } };
const PORT_PROTOCOLS: readonly PortProtocol[] = ["tcp", "udp", "sctp"];


function portAt(o: Json, key: string, path: string): number {
  const v = goField(o, key);
  if (typeof v !== "number" || !Number.isInteger(v)) throw decodeError(`${path}.${key} must be an integer, got ${q(v)}`);
  if (v < 1 || v > 65535) throw invalid(`${path}.${key} ${v} is not a port number: use 1..65535`);
  return v;
}

function mappingAt(v: unknown, path: string): PortMapping {
  if (!isObj(v)) throw decodeError(`${path} must be an object like {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}, got ${q(v)}`);
  // Keys as Go's encoding/json matches them: containerd sends "HostPort", "Protocol", "HostIP" (go-json.ts).
  const protoRaw = goField(v, "protocol") ?? "tcp";
  if (typeof protoRaw !== "string") throw decodeError(`${path}.protocol must be a string, got ${q(protoRaw)}`);
  const protocol = protoRaw.toLowerCase();
  if (!(PORT_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw invalid(`${path}.protocol ${q(protoRaw)} is not supported: use "tcp", "udp" or "sctp"`);
  }
  const hostIpRaw = goField(v, "hostIP");
  let hostIp: IpAddr | undefined;
  if (hostIpRaw !== undefined && hostIpRaw !== null && hostIpRaw !== "") {
    if (typeof hostIpRaw !== "string") throw decodeError(`${path}.hostIP must be a string, got ${q(hostIpRaw)}`);
    try {
      hostIp = parseIp(hostIpRaw);
    } catch {
      throw invalid(`${path}.hostIP ${q(hostIpRaw)} is not an IP address`);
    }
  }
  return { hostPort: portAt(v, "hostPort", path), containerPort: portAt(v, "containerPort", path), protocol: protocol as PortProtocol, hostIp };
}

/** `runtimeConfig.portMappings`, validated (absent: none). */
export function parsePortMappings(runtimeConfig: Readonly<Json>): PortMapping[] {
  const v = runtimeConfig["portMappings"];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw decodeError(`runtimeConfig.portMappings must be a list, got ${q(v)}`);
  return v.map((m, i) => mappingAt(m, `runtimeConfig.portMappings[${i}]`));
}

function conditionsOf(o: Readonly<Json>, key: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw decodeError(`${key} must be a list of strings, got ${q(v)}`);
  const list = v as string[];
  // The reference's rule: iptables conditions start with "-" or "!"; anything else is nftables syntax.
  if (list.length > 0 && list[0] !== "" && !/^[-!]/.test(list[0] as string)) {
    throw new CniError(CNI_ERROR_CODE.UNSUPPORTED_FIELD, `${key} ${q(list)} is nftables syntax: only the iptables backend is supported; write iptables match arguments (e.g. ["-d", "192.0.2.1"])`);
  }
  return list.filter((x) => x !== "");
}

function markBitOf(raw: Readonly<Json>, external: string | undefined): number {
  const v = raw["markMasqBit"];
  if (v === undefined || v === null) return DEFAULT_MARK_MASQ_BIT;
  if (external !== undefined) throw invalid(`cannot specify both "externalSetMarkChain" and "markMasqBit": use one`);
  if (typeof v !== "number" || !Number.isInteger(v)) throw decodeError(`markMasqBit must be an integer, got ${q(v)}`);
  if (v < 0 || v > 31) throw invalid(`markMasqBit ${v} is out of range: use 0..31`);
  return v;
}

/** The reference portmap's keys (top level of the plugin's config), with its defaults. */
export function parsePortMapOptions(raw: Readonly<Json>): PortMapOptions {
  const backend = raw["backend"];
  if (backend !== undefined && backend !== null && backend !== "iptables") {
    throw new CniError(CNI_ERROR_CODE.UNSUPPORTED_FIELD, `backend ${q(backend)} is not supported: remove it or set "iptables" (the iptables tools on PATH are used, whatever their kernel backend)`);
  }
  const ext = raw["externalSetMarkChain"];
  if (ext !== undefined && ext !== null && (typeof ext !== "string" || !/^[A-Za-z0-9_.-]{1,28}$/.test(ext))) {
    throw invalid(`externalSetMarkChain ${q(ext)} is not an iptables chain name (1-28 letters, digits, "_", "-", ".")`);
  }
  const externalSetMarkChain = typeof ext === "string" ? ext : undefined;
  return {
    snat: optBool(raw, "snat", "") ?? true,
    masqAll: optBool(raw, "masqAll", "") ?? false,
    markMasqBit: markBitOf(raw, externalSetMarkChain),
    externalSetMarkChain,
    conditions: { 4: conditionsOf(raw, "conditionsV4"), 6: conditionsOf(raw, "conditionsV6") },
  };
}

/** A network config's host ports (core/cni/netconf.ts NetConf extends this). */
export interface HostPortConf {
  /** runtimeConfig.portMappings (the portMappings capability); kubenet and portmap only, else []. */
  readonly portMappings: readonly PortMapping[];
  /** The reference portmap's keys (snat, masqAll, ...) with its defaults; kubenet and portmap only. */
  readonly portMap: PortMapOptions | undefined;
}

export const NO_HOST_PORTS: HostPortConf = { portMappings: [], portMap: undefined };

/** Host ports of a kubenet or portmap config (the reference bridge ignores them). */
export const parseHostPorts = (raw: Readonly<Json>, runtimeConfig: Readonly<Json>): HostPortConf => ({
  portMappings: parsePortMappings(runtimeConfig),
  portMap: parsePortMapOptions(raw),
});
