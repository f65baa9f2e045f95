// agent/masq/render: the masquerade rules as data, the plan that compares them with what the kernel has,
// and the iptables-restore payloads that apply the plan. Pure (golden-tested in render.test.ts).
//
// Layout (ip-masq-agent's, restricted to pod traffic): one POSTROUTING rule
//   -s <PodCIDR> -m comment --comment "kubenet: ..." -m addrtype ! --dst-type LOCAL -j KUBENET-MASQ
// and our own chain: RETURN for each non-masquerade destination, then MASQUERADE (must be last).

import { formatCidr, type IpFamily, type IpNet } from "../../core/ip.js";
import type { SavedTable } from "../../native/index.js";
import { jumpsTo, planChain, renderRefill, renderRemoval, type ChainPlan, type OwnChain } from "./own-chain.js";

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

export function isUpToDate(plan: ChainPlan): boolean {
  return plan.chainUpToDate && plan.jumpUpToDate;
}

/** A POSTROUTING rule this agent (or kubenet before it) put there: the jump, or one with our comment. */
function isOwnRule(args: readonly string[], chain: string): boolean {
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === "-j" && args[i + 1] === chain) return true;
    if (args[i] === "--comment" && (args[i + 1] ?? "").startsWith(COMMENT_PREFIX)) return true;
  }
  return false;
}

/** Our chain and its POSTROUTING jump for one family. */
function masqChain(spec: MasqChainSpec): OwnChain {
  return { table: "nat", hook: "POSTROUTING", chain: spec.chain, rules: renderChainArgs(spec), jump: renderJumpArgs(spec) };
}

/** Our POSTROUTING rules are the jump and any rule carrying our comment (kubenet's old direct MASQUERADE rule). */
export function planMasq(spec: MasqChainSpec, saved: SavedTable): ChainPlan {
  return planChain(masqChain(spec), saved, (args) => isOwnRule(args, spec.chain));
}

/** The iptables-restore --noflush payload that brings the nat table to `spec` (own-chain.ts: renderRefill). */
export function renderMasqRestore(spec: MasqChainSpec, plan: ChainPlan): string {
  return renderRefill(masqChain(spec), plan);
}

/** Number of rules a payload from renderMasqRestore writes (chain rules, plus the jump when re-made). */
export function countWrittenRules(spec: MasqChainSpec, plan: ChainPlan): number {
  return renderChainArgs(spec).length + (plan.jumpUpToDate ? 0 : 1);
}

/**
 * The payload that removes everything of ours from the nat table: every rule jumping to our chain (in any
 * chain) or carrying our comment in POSTROUTING, then the chain itself. Returns undefined when there is
 * nothing to remove.
 */
export function renderMasqCleanup(chain: string, saved: SavedTable): string | undefined {
  const refs = saved.rules.filter((r) => r.chain !== chain && (r.chain === "POSTROUTING" ? isOwnRule(r.args, chain) : jumpsTo(r.args, chain)));
  return renderRemoval("nat", chain, refs, saved);
}
