// plugin/bridge/ipmasq-rules: the reference bridge plugin's per-container masquerade ("ipMasq": true) as
// iptables text. Pure: names the chain, renders the iptables-restore payloads, reads iptables-save output.
// The layout is the reference's (containernetworking/plugins pkg/ip SetupIPMasq, pkg/utils FormatChainName)
// rule for rule, so a pod set up by either plugin is torn down by the other:
//   nat CNI-<first 24 hex of sha512(network + containerID)>   (28 chars, no ifname: one chain per container)
//     -A CNI-x -d <pod subnet> -m comment --comment "name: \"<net>\" id: \"<cid>\"" -j ACCEPT
//     -A CNI-x ! -d 224.0.0.0/4 (ff00::/8) -m comment --comment "..." -j MASQUERADE
//   -A POSTROUTING -s <pod IP>/32 (/128) -m comment --comment "..." -j CNI-x
// Lines are rendered exactly as iptables-save prints them (native's codec), so what we wrote compares equal
// to what we read.

import { bitsOf, formatCidr, formatIp, networkOf, type IpFamily, type IpNet } from "../../core/ip.js";
import { argOf, formatRule, jumpsTo, sameArgs, targetOf, type SavedTable } from "../../native/index.js";

const MASQ_TABLE = "nat";
const CHAIN_PREFIX = "CNI-";
/** iptables chain names are limited to 28 characters; the reference fills them with hash. */
const MASQ_CHAIN_LENGTH = 28;
const MULTICAST: Readonly<Record<IpFamily, string>> = { 4: "224.0.0.0/4", 6: "ff00::/8" };

/** The chain name from the hex SHA-512 of network name + container ID (the caller hashes: no crypto here). */
export function chainNameFromDigest(sha512Hex: string): string {
  return `${CHAIN_PREFIX}${sha512Hex}`.slice(0, MASQ_CHAIN_LENGTH);
}

/** Go's %q for the printable ASCII that network names and container IDs are made of. */
function goQuote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The rules' comment, as the reference's utils.FormatComment: `name: "<net>" id: "<cid>"`. */
export function formatComment(network: string, containerId: string): string {
  return `name: ${goQuote(network)} id: ${goQuote(containerId)}`;
}

const COMMENT_RE = /^name: "((?:[^"\\]|\\.)*)" id: "((?:[^"\\]|\\.)*)"$/;
const unquote = (s: string): string => s.replace(/\\(.)/g, "$1");

/** The (network, containerID) a rule comment names, or undefined for any other comment. */
export function parseComment(comment: string): { network: string; containerId: string } | undefined {
  const m = COMMENT_RE.exec(comment);
  if (m === null) return undefined;
  return { network: unquote(m[1] ?? ""), containerId: unquote(m[2] ?? "") };
}

export interface MasqRuleSet {
  readonly chain: string;
  /** The per-container chain's rules, in order (arguments after "-A <chain>"). */
  readonly chainRules: readonly (readonly string[])[];
  /** One POSTROUTING jump per pod address. */
  readonly jumps: readonly (readonly string[])[];
}

/**
 * What the chain and POSTROUTING must hold for the pod addresses of one family: an ACCEPT per distinct pod
 * subnet, then one MASQUERADE, then a jump per address. (With two subnets of one family the reference ends
 * up with ACCEPT, MASQUERADE, ACCEPT, which makes the second ACCEPT dead; all ACCEPTs go first here.)
 */
export function masqRuleSet(chain: string, comment: string, family: IpFamily, addrs: readonly IpNet[]): MasqRuleSet {
  const mine = addrs.filter((a) => a.addr.family === family);
  const subnets = [...new Set(mine.map((a) => formatCidr(networkOf(a))))];
  const tag = ["-m", "comment", "--comment", comment];
  return {
    chain,
    chainRules: [
      ...subnets.map((s) => ["-d", s, ...tag, "-j", "ACCEPT"]),
      ["!", "-d", MULTICAST[family], ...tag, "-j", "MASQUERADE"],
    ],
    jumps: [...new Set(mine.map((a) => `${formatIp(a.addr)}/${bitsOf(family)}`))].map((src) => ["-s", src, ...tag, "-j", chain]),
  };
}

/**
 * The iptables-restore --noflush payload that makes the table hold exactly `set`: the chain line creates the
 * chain or flushes it (refilled in the same transaction), stale or duplicate jumps to it go, missing jumps
 * are appended (never a second copy of one that exists).
 */
export function renderSetup(table: SavedTable, set: MasqRuleSet): string {
  const lines = [`*${MASQ_TABLE}`, `:${set.chain} - [0:0]`];
  for (const args of set.chainRules) lines.push(formatRule("-A", set.chain, args));
  const kept = new Set<number>();
  for (const rule of jumpsTo(table, set.chain)) {
    const i = set.jumps.findIndex((j, n) => !kept.has(n) && rule.chain === "POSTROUTING" && sameArgs(j, rule.args));
    if (i >= 0) kept.add(i);
    else lines.push(formatRule("-D", rule.chain, rule.args));
  }
  set.jumps.forEach((args, n) => {
    if (!kept.has(n)) lines.push(formatRule("-A", "POSTROUTING", args));
  });
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/**
 * The payload that removes `chains` and every rule jumping to them, or undefined when none of them exists
 * and nothing jumps to them (nothing to write). Declaring an existing chain flushes it, so `-X` finds it
 * empty.
 */
export function renderTeardown(table: SavedTable, chains: readonly string[]): string | undefined {
  const doomed = new Set(chains);
  const lines = [`*${MASQ_TABLE}`];
  for (const rule of table.rules) {
    const target = targetOf(rule);
    if (target !== undefined && doomed.has(target) && !doomed.has(rule.chain)) lines.push(formatRule("-D", rule.chain, rule.args));
  }
  const present = chains.filter((c) => table.chains.has(c));
  for (const c of present) lines.push(`:${c} - [0:0]`);
  for (const c of present) lines.push(`-X ${c}`);
  if (lines.length === 1) return undefined;
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** What is missing from the table for `set` (empty = all there), as sentences for CHECK. */
export function missingFrom(table: SavedTable, set: MasqRuleSet): string[] {
  if (!table.chains.has(set.chain)) return [`chain ${set.chain} does not exist in the ${MASQ_TABLE} table`];
  const out: string[] = [];
  const inChain = table.rules.filter((r) => r.chain === set.chain);
  for (const args of set.chainRules) {
    if (!inChain.some((r) => sameArgs(r.args, args))) out.push(`rule "${formatRule("-A", set.chain, args)}" is missing`);
  }
  const jumps = table.rules.filter((r) => r.chain === "POSTROUTING");
  for (const args of set.jumps) {
    if (!jumps.some((r) => sameArgs(r.args, args))) out.push(`jump "${formatRule("-A", "POSTROUTING", args)}" is missing`);
  }
  return out;
}

/**
 * Chains of `network` that belong to containers not in `validIds`: a CNI-<hash> chain (or a jump to one) whose
 * rule comment names this network and a container ID, and whose name is that pair's chain name (so another
 * plugin's chains with the same comment format are never touched). `chainOf` hashes (network, id).
 */
export function staleChains(
  table: SavedTable,
  network: string,
  validIds: ReadonlySet<string>,
  chainOf: (network: string, containerId: string) => string,
): string[] {
  const stale = new Set<string>();
  for (const rule of table.rules) {
    const comment = argOf(rule.args, "--comment");
    const owner = comment === undefined ? undefined : parseComment(comment);
    if (owner === undefined || owner.network !== network || validIds.has(owner.containerId)) continue;
    const expected = chainOf(owner.network, owner.containerId);
    const target = argOf(rule.args, "-j");
    if (rule.chain === expected || target === expected) stale.add(expected);
  }
  return [...stale].sort();
}
