// plugin/portmap/portmap: host ports (layout in rules.ts) applied through plugin/bridge/xtables.ts, for the
// kubenet type and the portmap drop-in. Async; never runs under the IPAM lock. Per family of the pod: one
// `iptables-restore --noflush` holding all of the pod's rules, then the UDP conntrack entries of its host
// ports are deleted (ctnetlink), so a client that was sending before the rules existed reaches the pod.
// The steady state reads nothing: ADD checks the shared chains inside the same transaction (-C), DEL deletes
// the rules it knows (the mappings ADD recorded); only when that transaction fails (the first pod, a repeated
// ADD, rules changed by someone else) is the table read (`iptables-save -t nat`) and the payload computed
// from it (retried when a concurrent ADD created a shared chain first). DEL needs neither the mappings nor
// the addresses to fall back on: the chain name derives from network + container ID.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { NetConf } from "../../core/cni/netconf.js";
import { DEFAULT_PORT_MAP_OPTIONS, type PortMapOptions, type PortMapping } from "../../core/cni/portmap-conf.js";
import type { IpFamily, IpNet } from "../../core/ip.js";
import { IPPROTO_UDP, conntrackDeleteByDstPort } from "../../native/index.js";
import { renderTeardown } from "../bridge/ipmasq-rules.js";
import { FAMILIES, ownerDigest, readNat, restoreNat, type XtablesContext } from "../bridge/xtables.js";
import {
  dnChainFromDigest, dnatComment, missingPortRules, podEntryRules, podPortRules, renderFastPortSetup, renderFastPortTeardown, renderPortSetup,
  stalePortChains, type PodPortRules,
} from "./rules.js";

export interface PortOwner {
  readonly network: string;
  readonly containerId: string;
}

/** What ADD set up, when DEL knows it (the kubenet type's record; the drop-in's runtimeConfig + prevResult). */
export interface KnownPorts {
  readonly mappings: readonly PortMapping[];
  readonly options: PortMapOptions;
  /** The families of the pod's addresses: the only ones ADD wrote rules for. */
  readonly families: readonly IpFamily[];
}

export interface PortRequest extends PortOwner {
  readonly mappings: readonly PortMapping[];
  readonly options: PortMapOptions;
  /** The pod's addresses; the first of each family gets the DNAT (as the reference picks them). */
  readonly podAddrs: readonly IpNet[];
  /** The namespace whose conntrack table is cleaned; undefined = the plugin's. */
  readonly hostNetnsPath?: string | undefined;
}

/** The request of a pod of `conf` (its mappings and portmap keys, the reference's defaults when it has none). */
export function portRequestOf(conf: NetConf, containerId: string, podAddrs: readonly IpNet[], hostNetnsPath: string | undefined): PortRequest {
  return { network: conf.name, containerId, mappings: conf.portMappings, options: conf.portMap ?? DEFAULT_PORT_MAP_OPTIONS, podAddrs, hostNetnsPath };
}

/** The per-container chain: "CNI-DN-" + the first 21 hex digits of sha512(network + container ID). */
function portChainName(network: string, containerId: string): string {
  return dnChainFromDigest(ownerDigest(network, containerId));
}

function rulesPerFamily(req: PortRequest): PodPortRules[] {
  const chain = portChainName(req.network, req.containerId);
  const comment = dnatComment(req.network, req.containerId);
  const out: PodPortRules[] = [];
  for (const family of FAMILIES) {
    const podAddr = req.podAddrs.find((a) => a.addr.family === family);
    if (podAddr !== undefined) out.push(podPortRules({ chain, comment, mappings: req.mappings, options: req.options, podAddr }));
  }
  return out;
}

const CHAIN_EXISTS_RE = /chain already exists/i;

/**
 * One transaction that reads nothing (rules.ts renderFast*): true when it applied. A lock held too long or a
 * tool that hung is the caller's error as is (falling back would only wait again); any other failure changed
 * nothing and means "read the table".
 */
async function tryFast(xc: XtablesContext, family: IpFamily, what: string, payload: string): Promise<boolean> {
  try {
    await restoreNat(xc, family, what, payload);
    return true;
  } catch (err) {
    if (!(err instanceof CniError) || err.code === CNI_ERROR_CODE.TRY_AGAIN_LATER) throw err;
    xc.log.debug("host ports: the one-transaction path did not apply; reading the table", { family, error: err.message });
    return false;
  }
}

async function setupFamily(xc: XtablesContext, rules: PodPortRules, what: string): Promise<void> {
  if (await tryFast(xc, rules.family, what, renderFastPortSetup(rules))) return;
  for (let attempt = 1; ; attempt++) {
    const table = await readNat(xc, rules.family, what, false);
    try {
      await restoreNat(xc, rules.family, what, renderPortSetup(table, rules));
      return;
    } catch (err) {
      // Another ADD created a shared chain between our read and our write: read again (bounded).
      const raced = err instanceof CniError && CHAIN_EXISTS_RE.test(`${err.message}\n${err.details ?? ""}`);
      if (!raced || attempt >= 5) throw err;
      xc.log.debug("a shared host-port chain appeared meanwhile; retrying", { family: rules.family, attempt });
    }
  }
}

function flushUdp(xc: XtablesContext, req: PortRequest, family: IpFamily): void {
  const ports = req.mappings.filter((m) => m.protocol === "udp" && (m.hostIp === undefined || m.hostIp.family === family)).map((m) => m.hostPort);
  if (ports.length === 0) return;
  try {
    const n = conntrackDeleteByDstPort({ family, protocol: IPPROTO_UDP, dstPorts: ports, netnsPath: req.hostNetnsPath });
    if (n > 0) xc.log.info("deleted stale UDP conntrack entries of host ports", { family, ports: ports.join(","), entries: n });
  } catch (err) {
    // As the reference: informative only (the rules are in place; only old UDP flows keep their path).
    xc.log.warn("could not delete stale UDP conntrack entries of host ports", { family, error: String(err) });
  }
}

/**
 * ADD: per family of the pod's addresses, the pod's chain, its entry rules and the shared chains in one
 * iptables-restore (families in parallel), then the UDP conntrack flush. Nothing to do without mappings.
 */
export async function setupHostPorts(xc: XtablesContext, req: PortRequest): Promise<void> {
  if (req.mappings.length === 0) return;
  const what = `could not set up host ports for ${q(req.containerId)}`;
  await Promise.all(
    rulesPerFamily(req).map(async (rules) => {
      await setupFamily(xc, rules, what);
      flushUdp(xc, req, rules.family);
    }),
  );
}

/**
 * DEL / rollback: the pod's chain and every jump to it. With `known`, only the pod's families, each first by
 * one transaction that reads nothing; otherwise (or when that fails) both families from the table read.
 * Nothing there is success.
 */
export async function teardownHostPorts(xc: XtablesContext, owner: PortOwner, known?: KnownPorts): Promise<number> {
  const chain = portChainName(owner.network, owner.containerId);
  const what = `could not remove the host-port chain ${chain} of ${q(owner.containerId)}`;
  const spec = known === undefined ? undefined : { chain, comment: dnatComment(owner.network, owner.containerId), mappings: known.mappings, options: known.options };
  const removed = await Promise.all(
    (known?.families ?? FAMILIES).map(async (family) => {
      if (spec !== undefined && (await tryFast(xc, family, what, renderFastPortTeardown({ chain, entryRules: podEntryRules(spec, family) })))) return 1;
      const table = await readNat(xc, family, what, true);
      const payload = renderTeardown(table, [chain]);
      if (payload === undefined) return 0;
      await restoreNat(xc, family, what, payload);
      return table.chains.has(chain) ? 1 : (0 as number);
    }),
  );
  const n = removed.reduce((a, b) => a + b, 0);
  if (n > 0) xc.log.info("removed the host-port chain", { chain, families: n });
  return n;
}

/** CHECK: the pod's chain, rules and jumps exist. @throws CniError 105 naming what is missing */
export async function checkHostPorts(xc: XtablesContext, req: PortRequest): Promise<void> {
  if (req.mappings.length === 0) return;
  const what = `could not read the host-port rules of ${q(req.containerId)}`;
  for (const rules of rulesPerFamily(req)) {
    const missing = missingPortRules(await readNat(xc, rules.family, what, false), rules);
    if (missing.length > 0) {
      const tool = rules.family === 4 ? "iptables" : "ip6tables";
      throw new CniError(CNI_ERROR_CODE.CHECK_MISMATCH, `host ports of ${q(req.containerId)}: ${missing.join("; ")} (${tool} -t nat)`);
    }
  }
}

/** GC: removes this network's per-container chains whose container is not in `validIds`. */
export async function gcHostPorts(xc: XtablesContext, network: string, validIds: ReadonlySet<string>): Promise<string[]> {
  const what = `could not remove stale host-port chains of network ${q(network)}`;
  const removed = await Promise.all(
    FAMILIES.map(async (family) => {
      const table = await readNat(xc, family, what, true);
      const stale = stalePortChains(table, network, validIds, portChainName);
      const payload = renderTeardown(table, stale);
      if (payload !== undefined) await restoreNat(xc, family, what, payload);
      return stale;
    }),
  );
  return [...new Set(removed.flat())].sort();
}
