// agent/masq/render: the masquerade rules as data, the plan that compares them with what the kernel has,
// and the iptables-restore payloads that apply the plan. Pure (golden-tested in render.test.ts).
//
// Layout (ip-masq-agent's, restricted to pod traffic): one POSTROUTING rule
//   -s <PodCIDR> -m comment --comment "kubenet: ..." -m addrtype ! --dst-type LOCAL -j KUBENET-MASQ
// and our own chain: RETURN for each non-masquerade destination, then MASQUERADE (must be last).

import { formatCidr, type IpFamily, type IpNet } from "../../core/ip.js";
import { formatRuleArgs, sameArgs, type SavedRule, type SavedTable } from "../../native/index.js";

export const DEFAULT_MASQ_CHAIN = "KUBENET-MASQ";
/** Every comment we write starts with this; rules carrying it in POSTROUTING are ours (also kubenet's old one). */
const COMMENT_PREFIX = "kubenet:";

const JUMP_COMMENT = "kubenet: pod traffic to non-local destinations is subject to masquerade rules";
const LINK_LOCAL_COMMENT = "kubenet: link-local destinations are not masqueraded";
const NON_MASQ_COMMENT = "kubenet: destinations in nonMasqueradeCIDRs are not masqueraded";
const MASQ_COMMENT = "kubenet: outbound traffic is masqueraded (must be last in chain)";

/** The desired masquerade state of one family. */
export interface MasqChainSpec {
  readonly family: IpFamily;
  readonly chain: string;
  /** The node's PodCIDR of this family: the jump only catches traffic sourced from it. */
  readonly podCidr: IpNet;
  /** Destinations left alone, in order (link-local first unless masqLinkLocal). */
  readonly returnCidrs: readonly { readonly cidr: IpNet; readonly linkLocal: boolean }[];
  readonly randomFully: boolean;
}

/** The POSTROUTING rule that sends pod traffic to our chain (arguments after "-A POSTROUTING"). */
function renderJumpArgs(spec: MasqChainSpec): string[] {
  return [
    "-s", formatCidr(spec.podCidr),
    "-m", "comment", "--comment", JUMP_COMMENT,
    "-m", "addrtype", "!", "--dst-type", "LOCAL",
    "-j", spec.chain,
  ];
}

/** The rules of our chain, in order (arguments after "-A <chain>"). */
function renderChainArgs(spec: MasqChainSpec): string[][] {
  const rules = spec.returnCidrs.map(({ cidr, linkLocal }) => [
    "-d", formatCidr(cidr),
    "-m", "comment", "--comment", linkLocal ? LINK_LOCAL_COMMENT : NON_MASQ_COMMENT,
    "-j", "RETURN",
  ]);
  rules.push(["-m", "comment", "--comment", MASQ_COMMENT, "-j", "MASQUERADE", ...(spec.randomFully ? ["--random-fully"] : [])]);
  return rules;
}

/** What differs between the desired spec and the saved nat table. */
export interface MasqPlan {
  /** Our chain exists with exactly the desired rules. */
  readonly chainUpToDate: boolean;
  /** POSTROUTING holds exactly one rule of ours and it is the desired jump. */
  readonly jumpUpToDate: boolean;
  /** Our POSTROUTING rules to delete (stale PodCIDR, duplicates, kubenet's old direct MASQUERADE rule). */
  readonly deleteJumps: readonly (readonly string[])[];
}

export function isUpToDate(plan: MasqPlan): boolean {
  return plan.chainUpToDate && plan.jumpUpToDate;
}

/** Rules in POSTROUTING that this agent (or kubenet before it) put there. */
function findOwnPostroutingRules(saved: SavedTable, chain: string): SavedRule[] {
  return saved.rules.filter((r) => r.chain === "POSTROUTING" && isOwnRule(r.args, chain));
}

function isOwnRule(args: readonly string[], chain: string): boolean {
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === "-j" && args[i + 1] === chain) return true;
    if (args[i] === "--comment" && (args[i + 1] ?? "").startsWith(COMMENT_PREFIX)) return true;
  }
  return false;
}

export function planMasq(spec: MasqChainSpec, saved: SavedTable): MasqPlan {
  const wanted = renderChainArgs(spec);
  const have = saved.rules.filter((r) => r.chain === spec.chain).map((r) => r.args);
  const chainUpToDate = saved.chains.has(spec.chain) && have.length === wanted.length && wanted.every((w, i) => sameArgs(w, have[i] ?? []));
  const jump = renderJumpArgs(spec);
  const own = findOwnPostroutingRules(saved, spec.chain);
  const jumpUpToDate = own.length === 1 && sameArgs(own[0]?.args ?? [], jump);
  return { chainUpToDate, jumpUpToDate, deleteJumps: jumpUpToDate ? [] : own.map((r) => r.args) };
}

/**
 * The iptables-restore --noflush payload that brings the nat table to `spec`. Declaring `:<chain> - [0:0]`
 * under --noflush flushes just that chain (creating it if missing), so the chain is refilled atomically and
 * nothing else in the table is touched. When the jump is wrong, all our POSTROUTING rules are deleted and
 * the right one is inserted at the top in the same transaction, so there is no moment without it.
 */
export function renderMasqRestore(spec: MasqChainSpec, plan: MasqPlan): string {
  const lines = ["*nat", `:${spec.chain} - [0:0]`];
  for (const args of renderChainArgs(spec)) lines.push(`-A ${spec.chain} ${formatRuleArgs(args)}`);
  if (!plan.jumpUpToDate) {
    for (const args of plan.deleteJumps) lines.push(`-D POSTROUTING ${formatRuleArgs(args)}`);
    lines.push(`-I POSTROUTING 1 ${formatRuleArgs(renderJumpArgs(spec))}`);
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** Number of rules a payload from renderMasqRestore writes (chain rules, plus the jump when re-made). */
export function countWrittenRules(spec: MasqChainSpec, plan: MasqPlan): number {
  return renderChainArgs(spec).length + (plan.jumpUpToDate ? 0 : 1);
}

/**
 * The payload that removes everything of ours from the nat table: every rule jumping to our chain (in any
 * chain) or carrying our comment in POSTROUTING, then the chain itself. Returns undefined when there is
 * nothing to remove.
 */
export function renderMasqCleanup(chain: string, saved: SavedTable): string | undefined {
  const refs = saved.rules.filter((r) => r.chain !== chain && (r.chain === "POSTROUTING" ? isOwnRule(r.args, chain) : jumpsTo(r.args, chain)));
  if (refs.length === 0 && !saved.chains.has(chain)) return undefined;
  const lines = ["*nat"];
  for (const r of refs) lines.push(`-D ${r.chain} ${formatRuleArgs(r.args)}`);
  if (saved.chains.has(chain)) lines.push(`:${chain} - [0:0]`, `-X ${chain}`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}

function jumpsTo(args: readonly string[], chain: string): boolean {
  return args.some((a, i) => (a === "-j" || a === "-g") && args[i + 1] === chain);
}
