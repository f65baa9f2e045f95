// plugin/admin/inventory: what `kubenet status` shows and `kubenet gc` acts on. Reads the conflist in force
// (the first config in the conf dir, as libcni picks it), our plugin's lease directory, the host veths our ADD
// labelled `kubenet:<network>:<containerID>:<ifname>`, the bridge, the agent's /healthz and the runtime's
// sandboxes over CRI. An attachment is `leaked` only when the runtime answered, does not know the sandbox,
// and its lease is older than minAge (a sandbox being created is not in the runtime's list until its
// RunPodSandbox returns). Order matters: links are listed before leases (ADD writes the lease before the veth,
// so a veth seen without a lease really has none), host-port records before leases for the same reason (ADD
// writes its lease, then the record), and the runtime is asked last. A host-port record (the kubenet type's
// hostPorts, plugin/portmap/kubenet.ts) joins its attachment's row; one whose lease and veth are gone still
// makes a row, so gc's DEL removes its rules.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseNetConf, type NetConf } from "../../core/cni/netconf.js";
import { formatCidr } from "../../core/ip.js";
import { parseIp } from "../../core/ip-parse.js";
import { openCri, type Link } from "../../native/index.js";
import { openHostNs } from "../bridge/netns.js";
import { hostVethAliasPrefix } from "../../core/cni/host-veth-alias.js";
import { capacityOf, freeCounts } from "../ipam/host-local.js";
import { formatRangeSet } from "../ipam/allocator.js";
import { leaseIp } from "../ipam/disk-store.js";
import { decodeLeaseContent } from "../ipam/store.js";
import { readHostPortRecords, type HostPortRecord } from "../portmap/kubenet.js";

export type RuntimeState = "ready" | "notready" | "unknown" | "not-asked";

export interface AttachmentRow {
  readonly containerId: string;
  readonly ifName: string;
  readonly ips: string[];
  readonly veth: string | undefined;
  /** The host veth exists (found by its alias). */
  readonly vethExists: boolean;
  /** The pod's netns exists: the veth's peer lives in another namespace. undefined: no veth to tell. */
  readonly netnsExists: boolean | undefined;
  readonly leaseAgeSeconds: number | undefined;
  /** Host ports ADD recorded for this container (`[hostIP:]hostPort->containerPort/protocol`). */
  readonly hostPorts: string[];
  readonly runtime: RuntimeState;
  readonly leaked: boolean;
}

export interface Inventory {
  readonly confDir: string;
  readonly confFile: string | undefined;
  readonly network: string | undefined;
  readonly conf: NetConf | undefined;
  readonly podCidrs: string[];
  readonly bridge: { name: string; exists: boolean; up: boolean; addresses: string[] } | undefined;
  readonly agent: { url: string; healthy: boolean; detail: string };
  readonly runtime: { endpoint: string; answered: boolean; detail: string };
  readonly ranges: { range: string; capacity: number; used: number; free: number }[];
  readonly attachments: AttachmentRow[];
}

export interface InventoryOptions {
  readonly confDir: string;
  readonly criEndpoint: string;
  readonly agentUrl: string;
  readonly minAgeMs: number;
  readonly timeoutMs: number;
  readonly now?: number;
}

const CONF_EXT = /\.(conf|conflist|json)$/;

/** The first config in the directory (lexical order, like libcni) that holds our kubenet/bridge plugin. */
function findConf(confDir: string): { file: string; conf: NetConf } | undefined {
  let names: string[];
  try {
    names = readdirSync(confDir).filter((n) => CONF_EXT.test(n)).sort();
  } catch {
    return undefined;
  }
  for (const name of names) {
    try {
      const doc = JSON.parse(readFileSync(join(confDir, name), "utf8")) as Record<string, unknown>;
      const plugins = Array.isArray(doc["plugins"]) ? (doc["plugins"] as Record<string, unknown>[]) : [doc];
      const ours = plugins.find((p) => p["type"] === "kubenet" || p["type"] === "bridge");
      // libcni gives each plugin of a list the list's name and cniVersion.
      if (ours !== undefined) {
        return { file: join(confDir, name), conf: parseNetConf(JSON.stringify({ ...ours, name: doc["name"], cniVersion: doc["cniVersion"] }), "kubenet") };
      }
    } catch {
      // not ours or not valid: libcni would skip it too
    }
  }
  return undefined;
}

interface LeaseRow {
  readonly ip: string;
  readonly containerId: string;
  readonly ifName: string;
  readonly ageSeconds: number;
}

function readLeases(dir: string, now: number): LeaseRow[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => leaseIp(n) !== undefined);
  } catch {
    return [];
  }
  const out: LeaseRow[] = [];
  for (const name of names) {
    try {
      const path = join(dir, name);
      const content = decodeLeaseContent(readFileSync(path, "utf8"));
      const ageSeconds = Math.max(0, Math.floor((now - statSync(path).mtimeMs) / 1000));
      if (content.kind === "owner") out.push({ ip: name, ...content.owner, ageSeconds });
      // Old host-local leases name only the container; DEL matches them by ID whatever the ifname.
      else if (content.kind === "legacy") out.push({ ip: name, containerId: content.containerId, ifName: "eth0", ageSeconds });
    } catch {
      // released meanwhile
    }
  }
  return out;
}

async function probeAgent(url: string, timeoutMs: number): Promise<Inventory["agent"]> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).trim().split("\n")[0] ?? "";
    return { url, healthy: res.status === 200, detail: `HTTP ${res.status}${body === "" ? "" : `: ${body.slice(0, 120)}`}` };
  } catch (e) {
    return { url, healthy: false, detail: `not reachable (${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)})` };
  }
}

/** The sandboxes the runtime knows, or why it could not tell. */
async function askRuntime(endpoint: string, timeoutMs: number): Promise<{ states: Map<string, "ready" | "notready"> | undefined; detail: string }> {
  let cri;
  try {
    cri = await openCri(endpoint, { timeoutMs });
    const v = await cri.version();
    const states = new Map((await cri.listPodSandbox()).map((p) => [p.id, p.state] as const));
    return { states, detail: `${v.runtimeName} ${v.runtimeVersion} (CRI ${v.runtimeApiVersion}), ${states.size} sandboxes` };
  } catch (e) {
    return { states: undefined, detail: `no answer (${e instanceof Error ? e.message : String(e)})` };
  } finally {
    cri?.close();
  }
}

function hostState(conf: NetConf): { veths: Map<string, Link>; bridge: Inventory["bridge"] } {
  const host = openHostNs();
  try {
    const prefix = hostVethAliasPrefix(conf.name);
    const veths = new Map<string, Link>();
    for (const l of host.rtnl.linkList()) {
      const alias = l.alias;
      if (l.kind === "veth" && alias?.startsWith(prefix)) veths.set(alias.slice(prefix.length), l);
    }
    const name = conf.bridge?.bridge ?? "cbr0";
    const br = host.rtnl.linkFind(name);
    const addresses = br === undefined ? [] : host.rtnl.addrList({ index: br.index }).map((a) => formatCidr(a.address));
    return { veths, bridge: { name, exists: br !== undefined, up: br?.up ?? false, addresses } };
  } finally {
    host.close();
  }
}

export async function collectInventory(o: InventoryOptions): Promise<Inventory> {
  const now = o.now ?? Date.now();
  const agentProbe = probeAgent(o.agentUrl, o.timeoutMs);
  const found = findConf(o.confDir);
  const conf = found?.conf;
  const base = { confDir: o.confDir, confFile: found?.file, network: conf?.name, conf };
  if (conf === undefined) {
    const runtime = await askRuntime(o.criEndpoint, o.timeoutMs);
    return { ...base, podCidrs: [], bridge: undefined, agent: await agentProbe, runtime: { endpoint: o.criEndpoint, answered: runtime.states !== undefined, detail: runtime.detail }, ranges: [], attachments: [] };
  }
  const { veths, bridge } = hostState(conf);
  const ipam = conf.ipam?.kind === "host-local" ? conf.ipam : undefined;
  const records = conf.plugin === "kubenet" ? readHostPortRecords(conf, now) : [];
  const leases = ipam === undefined ? [] : readLeases(join(ipam.dataDir, conf.name), now);
  const runtime = await askRuntime(o.criEndpoint, o.timeoutMs);
  const attachments = joinRows(leases, veths, runtime.states, o.minAgeMs, records);
  const leaseIps = leases.map((l) => parseIp(l.ip));
  const free = ipam === undefined ? [] : freeCounts(ipam, leaseIps);
  const ranges = (ipam?.ranges ?? []).map((set, i) => {
    const capacity = Number(capacityOf(set));
    const f = Number(free[i] ?? 0n);
    return { range: formatRangeSet(set), capacity, used: capacity - f, free: f };
  });
  const podCidrs = [...new Set((ipam?.ranges ?? []).flatMap((set) => set.map((r) => formatCidr(r.subnet))))];
  return { ...base, podCidrs, bridge, agent: await agentProbe, runtime: { endpoint: o.criEndpoint, answered: runtime.states !== undefined, detail: runtime.detail }, ranges, attachments };
}

/** One row per (containerID, ifname) seen in a lease, on a host veth or in a host-port record. */
export function joinRows(
  leases: readonly LeaseRow[],
  veths: ReadonlyMap<string, Link>,
  states: ReadonlyMap<string, "ready" | "notready"> | undefined,
  minAgeMs: number,
  records: readonly HostPortRecord[] = [],
): AttachmentRow[] {
  const keys = new Map<string, { containerId: string; ifName: string }>();
  for (const l of leases) keys.set(`${l.containerId}:${l.ifName}`, l);
  for (const k of veths.keys()) {
    const i = k.lastIndexOf(":");
    if (!keys.has(k)) keys.set(k, { containerId: k.slice(0, i), ifName: k.slice(i + 1) });
  }
  // A record joins the row of its container (by ifName when it names one); otherwise it is a row of its own.
  const recordOf = (containerId: string, ifName: string): HostPortRecord | undefined =>
    records.find((r) => r.containerId === containerId && (r.ifName ?? ifName) === ifName);
  for (const r of records) {
    if (![...keys.values()].some((k) => recordOf(k.containerId, k.ifName) === r)) {
      keys.set(`${r.containerId}:${r.ifName ?? "eth0"}`, { containerId: r.containerId, ifName: r.ifName ?? "eth0" });
    }
  }
  return [...keys.entries()].map(([key, { containerId, ifName }]) => {
    const mine = leases.filter((l) => l.containerId === containerId && l.ifName === ifName);
    const veth = veths.get(key);
    const record = recordOf(containerId, ifName);
    // The youngest trace counts: a record or lease just written belongs to a pod maybe still being created.
    const ages = [...mine.map((l) => l.ageSeconds), ...(record === undefined ? [] : [record.ageSeconds])];
    const age = ages.length === 0 ? undefined : Math.min(...ages);
    const runtime: RuntimeState = states === undefined ? "not-asked" : (states.get(containerId) ?? "unknown");
    return {
      containerId,
      ifName,
      ips: mine.map((l) => l.ip),
      veth: veth?.name,
      vethExists: veth !== undefined,
      netnsExists: veth === undefined ? undefined : veth.linkNetnsId !== undefined,
      leaseAgeSeconds: age,
      hostPorts: record?.ports ?? [],
      runtime,
      leaked: runtime === "unknown" && (age === undefined || age * 1000 >= minAgeMs),
    };
  });
}
