// plugin/portmap/rules: host ports as iptables text, in the reference portmap plugin's exact layout
// (containernetworking/plugins plugins/meta/portmap, iptables backend), so a pod set up by either plugin is
// torn down by the other. Pure: names the chains, renders the rules and the iptables-restore payloads.
//   nat PREROUTING, OUTPUT: -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT          (shared, appended)
//   nat POSTROUTING: -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ (inserted 1st)
//   CNI-HOSTPORT-SETMARK: -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
//   CNI-HOSTPORT-MASQ:    -m mark --mark 0x2000/0x2000 -j MASQUERADE
//   CNI-HOSTPORT-DNAT:    -p <proto> -m comment --comment "dnat name: \"<net>\" id: \"<cid>\""
//                         -m multiport --dports <<=15 ports> [conditions] -j CNI-DN-<hash>   (per pod)
//   CNI-DN-<21 hex of sha512(net + cid)>, per mapping: hairpin mark (-s <pod subnet>), localhost mark
//                         (-s 127.0.0.1/32, IPv4), DNAT --to-destination <pod IP>:<port>
// Rules are written exactly as iptables-save prints them (native's codec), so what we wrote compares equal.

import type { PortMapOptions, PortMapping } from "../../core/cni/portmap-conf.js";
import { bitsOf, formatCidr, formatIp, networkOf, type IpFamily, type IpNet } from "../../core/ip.js";
import { argOf, formatRule, sameArgs, targetOf, type SavedTable } from "../../native/index.js";

const TOP_DNAT_CHAIN = "CNI-HOSTPORT-DNAT";
const SETMARK_CHAIN = "CNI-HOSTPORT-SETMARK";
const MASQ_CHAIN = "CNI-HOSTPORT-MASQ";
const SETMARK_COMMENT = "CNI portfwd masquerade mark";
const MASQ_COMMENT = "CNI portfwd requiring masquerade";
const ENTRY_CHAINS = ["PREROUTING", "OUTPUT"] as const;
const TOP_ENTRY = ["-m", "addrtype", "--dst-type", "LOCAL", "-j", TOP_DNAT_CHAIN];
const MULTIPORT_MAX = 15;
const LOCALHOST = "127.0.0.1/32";

/** The chain name from the hex SHA-512 of network name + container ID (the caller hashes: no crypto here). */
export const dnChainFromDigest = (sha512Hex: string): string => `CNI-DN-${sha512Hex}`.slice(0, 28);

/** The entry rules' comment, as the reference writes it (%s, not %q), cut to iptables' 255 characters. */
export function dnatComment(network: string, containerId: string): string {
  const c = `dnat name: "${network}" id: "${containerId}"`;
  return c.length <= 255 ? c : `${c.slice(0, 253)}...`;
}

const COMMENT_RE = /^dnat name: "(.*)" id: "(.*)"$/;
/** The (network, containerID) of an entry rule's comment, or undefined for any other comment. */
export function parseDnatComment(comment: string): { network: string; containerId: string } | undefined {
  const m = COMMENT_RE.exec(comment);
  return m === null ? undefined : { network: m[1] ?? "", containerId: m[2] ?? "" };
}

/** Go's %#x/%#x of the mark bit: "0x2000/0x2000" for bit 13. */
export const markOf = (bit: number): string => {
  const v = `0x${(2 ** bit).toString(16)}`;
  return `${v}/${v}`;
};

export interface PodPortRules {
  readonly family: IpFamily;
  readonly chain: string;
  /** Arguments after "-A CNI-HOSTPORT-DNAT" (ending in -j <chain>). */
  readonly entryRules: readonly (readonly string[])[];
  /** Arguments after "-A <chain>", in order. */
  readonly chainRules: readonly (readonly string[])[];
  /** The shared mark and masquerade chains are ours to ensure (snat on, no external mark chain). */
  readonly markBit: number | undefined;
}

export interface PodPortSpec {
  readonly chain: string;
  readonly comment: string;
  readonly mappings: readonly PortMapping[];
  readonly options: PortMapOptions;
  /** The pod's address of this family, with its prefix (the hairpin source is its subnet). */
  readonly podAddr: IpNet;
}

/** The pod's entry rules in CNI-HOSTPORT-DNAT for one family (they need no pod address). */
export function podEntryRules(spec: Omit<PodPortSpec, "podAddr">, family: IpFamily): string[][] {
  const byProto = new Map<string, number[]>();
  // Every mapping counts, also one whose hostIP is of the other family (as the reference does).
  for (const m of spec.mappings) byProto.set(m.protocol, [...(byProto.get(m.protocol) ?? []), m.hostPort]);
  const out: string[][] = [];
  for (const proto of [...byProto.keys()].sort()) {
    const ports = byProto.get(proto) ?? [];
    for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
      const list = ports.slice(i, i + MULTIPORT_MAX).join(",");
      out.push(["-p", proto, "-m", "comment", "--comment", spec.comment, "-m", "multiport", "--dports", list, ...spec.options.conditions[family], "-j", spec.chain]);
    }
  }
  return out;
}

const toDestination = (pod: IpNet, port: number): string =>
  pod.addr.family === 4 ? `${formatIp(pod.addr)}:${port}` : `[${formatIp(pod.addr)}]:${port}`;

function chainRulesOf(spec: PodPortSpec, family: IpFamily): string[][] {
  const { options, podAddr } = spec;
  const markChain = options.externalSetMarkChain ?? SETMARK_CHAIN;
  const out: string[][] = [];
  for (const m of spec.mappings) {
    if (m.hostIp !== undefined && m.hostIp.family !== family) continue;
    const dst = m.hostIp === undefined || m.hostIp.value === 0n ? [] : ["-d", `${formatIp(m.hostIp)}/${bitsOf(family)}`];
    const match = ["-p", m.protocol, "-m", m.protocol, "--dport", String(m.hostPort)];
    if (options.snat) {
      // masqAll: source 0.0.0.0/0 (::/0), which iptables-save leaves out.
      const hairpinSrc = options.masqAll ? [] : ["-s", formatCidr(networkOf(podAddr))];
      out.push([...hairpinSrc, ...dst, ...match, "-j", markChain]);
      if (family === 4 && !options.masqAll) out.push(["-s", LOCALHOST, ...dst, ...match, "-j", markChain]);
    }
    out.push([...dst, ...match, "-j", "DNAT", "--to-destination", toDestination(podAddr, m.containerPort)]);
  }
  return out;
}

/** What the table must hold for one pod and one family. */
export function podPortRules(spec: PodPortSpec): PodPortRules {
  const family = spec.podAddr.addr.family;
  const ownMark = spec.options.snat && spec.options.externalSetMarkChain === undefined;
  return {
    family,
    chain: spec.chain,
    entryRules: podEntryRules(spec, family),
    chainRules: chainRulesOf(spec, family),
    markBit: ownMark ? spec.options.markMasqBit : undefined,
  };
}

const has = (table: SavedTable, chain: string, args: readonly string[]): boolean =>
  table.rules.some((r) => r.chain === chain && sameArgs(r.args, args));

/** Lines that create the shared chains and their jumps when missing (never flushing what exists). */
function sharedLines(table: SavedTable, rules: PodPortRules): string[] {
  const lines: string[] = [];
  // `-N` (not ":CHAIN"): declaring an existing chain would flush it; -N fails the whole transaction
  // instead when a concurrent ADD created it first, and the caller re-reads and retries.
  const ensureChain = (chain: string, content: readonly (readonly string[])[]): void => {
    if (!table.chains.has(chain)) lines.push(`-N ${chain}`);
    for (const args of content) if (!has(table, chain, args)) lines.push(formatRule("-A", chain, args));
  };
  if (rules.markBit !== undefined) {
    const mark = markOf(rules.markBit);
    ensureChain(SETMARK_CHAIN, [["-m", "comment", "--comment", SETMARK_COMMENT, "-j", "MARK", "--set-xmark", mark]]);
    ensureChain(MASQ_CHAIN, [["-m", "mark", "--mark", mark, "-j", "MASQUERADE"]]);
    const jump = ["-m", "comment", "--comment", MASQ_COMMENT, "-j", MASQ_CHAIN];
    if (!has(table, "POSTROUTING", jump)) lines.push(formatRule("-I", "POSTROUTING", ["1", ...jump]));
  }
  ensureChain(TOP_DNAT_CHAIN, []);
  for (const c of ENTRY_CHAINS) if (!has(table, c, TOP_ENTRY)) lines.push(formatRule("-A", c, TOP_ENTRY));
  return lines;
}

/**
 * The iptables-restore --noflush payload for one pod and family: the shared chains when missing, the pod's
 * chain created or flushed and refilled (same transaction), stale jumps to it removed, missing ones added.
 */
export function renderPortSetup(table: SavedTable, rules: PodPortRules): string {
  const lines = ["*nat", ...sharedLines(table, rules), `:${rules.chain} - [0:0]`];
  for (const args of rules.chainRules) lines.push(formatRule("-A", rules.chain, args));
  const kept = new Set<number>();
  for (const r of table.rules) {
    if (r.chain === rules.chain || targetOf(r) !== rules.chain) continue;
    const i = rules.entryRules.findIndex((e, n) => !kept.has(n) && r.chain === TOP_DNAT_CHAIN && sameArgs(e, r.args));
    if (i >= 0) kept.add(i);
    else lines.push(formatRule("-D", r.chain, r.args));
  }
  rules.entryRules.forEach((args, n) => {
    if (!kept.has(n)) lines.push(formatRule("-A", TOP_DNAT_CHAIN, args));
  });
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/**
 * The steady-state ADD without reading the table first: one payload that checks (-C) that the shared chains
 * and their jumps are in place, creates the pod's chain (-N: fails when it exists, e.g. a repeated ADD) and
 * fills it, and appends its entry rules. iptables-restore applies all of it or nothing, so when any check
 * fails the caller falls back to reading the table (renderPortSetup), having changed nothing.
 */
export function renderFastPortSetup(rules: PodPortRules): string {
  const lines = ["*nat"];
  if (rules.markBit !== undefined) {
    const mark = markOf(rules.markBit);
    lines.push(formatRule("-C", SETMARK_CHAIN, ["-m", "comment", "--comment", SETMARK_COMMENT, "-j", "MARK", "--set-xmark", mark]));
    lines.push(formatRule("-C", MASQ_CHAIN, ["-m", "mark", "--mark", mark, "-j", "MASQUERADE"]));
    lines.push(formatRule("-C", "POSTROUTING", ["-m", "comment", "--comment", MASQ_COMMENT, "-j", MASQ_CHAIN]));
  }
  for (const c of ENTRY_CHAINS) lines.push(formatRule("-C", c, TOP_ENTRY));
  lines.push(`-N ${rules.chain}`);
  for (const args of rules.chainRules) lines.push(formatRule("-A", rules.chain, args));
  for (const args of rules.entryRules) lines.push(formatRule("-A", TOP_DNAT_CHAIN, args));
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/**
 * DEL without reading the table, when what ADD wrote is known (the record's mappings): the pod's entry rules
 * deleted by their exact text, its chain flushed and removed. All or nothing: a rule that differs (changed
 * conditions, someone else's edit) fails the payload and the caller falls back to reading the table.
 */
export function renderFastPortTeardown(rules: Pick<PodPortRules, "chain" | "entryRules">): string {
  const lines = ["*nat", ...rules.entryRules.map((args) => formatRule("-D", TOP_DNAT_CHAIN, args)), `-F ${rules.chain}`, `-X ${rules.chain}`, "COMMIT", ""];
  return lines.join("\n");
}

/** What is missing for one pod and family (empty = all there), as sentences for CHECK. */
export function missingPortRules(table: SavedTable, rules: PodPortRules): string[] {
  if (!table.chains.has(rules.chain)) return [`chain ${rules.chain} does not exist in the nat table`];
  const out: string[] = [];
  for (const args of rules.chainRules) {
    if (!has(table, rules.chain, args)) out.push(`rule "${formatRule("-A", rules.chain, args)}" is missing`);
  }
  // Entry rules are matched on protocol and ports only: iptables may print user conditions reordered.
  for (const args of rules.entryRules) {
    const found = table.rules.some(
      (r) => r.chain === TOP_DNAT_CHAIN && targetOf(r) === rules.chain && argOf(r.args, "-p") === argOf(args, "-p") && argOf(r.args, "--dports") === argOf(args, "--dports"),
    );
    if (!found) out.push(`jump "${formatRule("-A", TOP_DNAT_CHAIN, args)}" is missing`);
  }
  for (const c of ENTRY_CHAINS) if (!has(table, c, TOP_ENTRY)) out.push(`jump "${formatRule("-A", c, TOP_ENTRY)}" is missing`);
  return out;
}

/**
 * Per-container chains of `network` whose container is not in `validIds`: found by the entry rules' comment,
 * and only when the chain name is that pair's (another plugin's rules with the same comment are not ours).
 */
export function stalePortChains(
  table: SavedTable,
  network: string,
  validIds: ReadonlySet<string>,
  chainOf: (network: string, containerId: string) => string,
): string[] {
  const stale = new Set<string>();
  for (const r of table.rules) {
    const comment = argOf(r.args, "--comment");
    const owner = comment === undefined ? undefined : parseDnatComment(comment);
    if (owner === undefined || owner.network !== network || validIds.has(owner.containerId)) continue;
    const expected = chainOf(owner.network, owner.containerId);
    if (targetOf(r) === expected) stale.add(expected);
  }
  return [...stale].sort();
}
