// plugin/portmap/kubenet: host ports in the `kubenet` type itself (one executable per pod, no chain): the
// glue between the bridge commands (add/del/check/gc) and portmap.ts. The rules are the reference portmap's
// (so its DEL removes ours and the other way round). A record of what ADD set up is kept beside the leases
// (`<dataDir>/<network>/kubenet-hostports/<containerID>`: the interface and the mappings as JSON), so DEL finds
// the rules without runtimeConfig, a pod without host ports never pays for an iptables read on DEL, and
// `kubenet status` / `gc` see host ports whose pod is gone.

import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { NetConf } from "../../core/cni/netconf.js";
import { DEFAULT_PORT_MAP_OPTIONS, parsePortMappings } from "../../core/cni/portmap-conf.js";
import { formatIp, type IpFamily } from "../../core/ip.js";
import type { NsHandle } from "../bridge/netns.js";
import { xtablesContextOf, type XtablesContext } from "../bridge/xtables.js";
import type { PluginContext } from "../types.js";
import { gcHostPorts, setupHostPorts, teardownHostPorts, type KnownPorts, type PortRequest } from "./portmap.js";

const RECORD_DIR = "kubenet-hostports";

export const hostPortsContextOf = (conf: NetConf, ctx: PluginContext): XtablesContext => xtablesContextOf(conf, ctx, "runtimeConfig.portMappings");

/** The record's directory, or undefined when IPAM is not host-local (no lease directory to keep it in). */
function recordDirOf(conf: NetConf): string | undefined {
  return conf.ipam?.kind === "host-local" ? join(conf.ipam.dataDir, conf.name, RECORD_DIR) : undefined;
}

function writeRecord(conf: NetConf, containerId: string, ifName: string, families: readonly IpFamily[]): void {
  const dir = recordDirOf(conf);
  if (dir === undefined) return;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.${containerId}.${process.pid}`);
  // The parsed mappings in the CNI spelling (the runtime's may be Go field names: core/cni/go-json.ts).
  const portMappings = conf.portMappings.map((m) => ({ hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol, ...(m.hostIp === undefined ? {} : { hostIP: formatIp(m.hostIp) }) }));
  writeFileSync(tmp, `${JSON.stringify({ ifName, families, portMappings })}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, containerId));
}

/** What ADD recorded (its mappings and the pod's families), or undefined: no record, or one that says less. */
function readRecord(conf: NetConf, containerId: string): KnownPorts | "none" | undefined {
  const dir = recordDirOf(conf);
  if (dir === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(join(dir, containerId), "utf8");
  } catch {
    return "none";
  }
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const families = Array.isArray(doc["families"]) ? doc["families"].filter((f): f is IpFamily => f === 4 || f === 6) : undefined;
    if (families === undefined) return undefined;
    return { mappings: parsePortMappings({ portMappings: doc["portMappings"] }), options: conf.portMap ?? DEFAULT_PORT_MAP_OPTIONS, families };
  } catch {
    return undefined; // unreadable: DEL reads the table instead
  }
}

const removeRecord = (conf: NetConf, containerId: string): void => {
  const dir = recordDirOf(conf);
  if (dir !== undefined) rmSync(join(dir, containerId), { force: true });
};

/**
 * ADD: the record first (a crash later still lets DEL find the rules), route_localnet on the bridge (127.0.0.1
 * may then cross to the pod, as the reference sets it on the interface toward the pod), then the rules.
 */
export async function setupKubenetHostPorts(xc: XtablesContext, req: PortRequest, conf: NetConf, ifName: string, host: NsHandle, bridge: string): Promise<void> {
  writeRecord(conf, req.containerId, ifName, [...new Set(req.podAddrs.map((a) => a.addr.family))]);
  if (req.options.snat && req.podAddrs.some((a) => a.addr.family === 4)) {
    host.sysctl([{ name: `net/ipv4/conf/${bridge}/route_localnet`, value: "1" }]);
  }
  await setupHostPorts(xc, req);
}

/** The rules (what the record `known` says ADD wrote, else by chain name in both families), then the record. */
async function teardownKnown(xc: XtablesContext, conf: NetConf, containerId: string, known: KnownPorts | "none" | undefined): Promise<void> {
  await teardownHostPorts(xc, { network: conf.name, containerId }, known === "none" ? undefined : known);
  removeRecord(conf, containerId);
}

/** ADD's rollback: the rules and the record. */
export const teardownKubenetHostPorts = (xc: XtablesContext, conf: NetConf, containerId: string): Promise<void> =>
  teardownKnown(xc, conf, containerId, readRecord(conf, containerId));

/**
 * DEL: the host-port teardown, started, or undefined when there are no host ports to remove. There are when
 * ADD recorded some (it writes the record before any rule, and DEL removes it after the rules), or, with no
 * lease directory to keep a record in, when the runtime passes mappings again. So a pod without host ports,
 * and containerd's second DEL of a pod, cost no iptables call. The record is read once, here.
 */
export function startKubenetHostPortTeardown(ctx: PluginContext, conf: NetConf, containerId: string): Promise<void> | undefined {
  if (conf.plugin !== "kubenet") return undefined;
  const known = readRecord(conf, containerId);
  const needed = recordDirOf(conf) === undefined ? conf.portMappings.length > 0 : known !== "none";
  return needed ? teardownKnown(hostPortsContextOf(conf, ctx), conf, containerId, known) : undefined;
}

/** GC: stale chains of this network, and the records of containers that are not valid any more. */
export async function gcKubenetHostPorts(xc: XtablesContext, conf: NetConf, validIds: ReadonlySet<string>): Promise<string[]> {
  const removed = await gcHostPorts(xc, conf.name, validIds);
  const dir = recordDirOf(conf);
  if (dir !== undefined) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      names = [];
    }
    for (const n of names) if (!n.startsWith(".") && !validIds.has(n)) rmSync(join(dir, n), { force: true });
  }
  return removed;
}

export interface HostPortRecord {
  readonly containerId: string;
  /** The interface ADD was called for; undefined in a record written before it was kept. */
  readonly ifName: string | undefined;
  /** The mappings as `[hostIP:]hostPort->containerPort/protocol`. */
  readonly ports: string[];
  readonly ageSeconds: number;
}

function describeMapping(m: unknown): string {
  const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
  const ip = typeof o["hostIP"] === "string" && o["hostIP"] !== "" ? `${String(o["hostIP"])}:` : "";
  return `${ip}${String(o["hostPort"])}->${String(o["containerPort"])}/${String(o["protocol"] ?? "tcp").toLowerCase()}`;
}

/** The host-port records of this network (for `kubenet status`); a record unreadable meanwhile is skipped. */
export function readHostPortRecords(conf: NetConf, now: number): HostPortRecord[] {
  const dir = recordDirOf(conf);
  if (dir === undefined) return [];
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
  const out: HostPortRecord[] = [];
  for (const containerId of names) {
    try {
      const path = join(dir, containerId);
      const ageSeconds = Math.max(0, Math.floor((now - statSync(path).mtimeMs) / 1000));
      const doc = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      const ifName = typeof doc["ifName"] === "string" ? doc["ifName"] : undefined;
      const ports = Array.isArray(doc["portMappings"]) ? doc["portMappings"].map(describeMapping) : [];
      out.push({ containerId, ifName, ports, ageSeconds });
    } catch {
      // removed meanwhile, or not ours to read: DEL by chain name still works without it
    }
  }
  return out;
}
