// agent/masq/own-chain: what the masquerade (nat) and FORWARD (filter) steps share: a chain of ours, refilled
// whole, reached by one jump at the top of a built-in chain. The plan (what differs from iptables-save, compared
// as tokens), the refill payload and the removal payload. Pure.

import { formatRuleArgs, sameArgs, type SavedRule, type SavedTable } from "../../native/index.js";

/** The desired state of one chain of ours and its jump. */
export interface OwnChain {
  readonly table: "nat" | "filter";
  /** The built-in chain holding the jump (POSTROUTING, FORWARD). */
  readonly hook: string;
  readonly chain: string;
  /** The chain's rules, in order (arguments after "-A <chain>"). */
  readonly rules: readonly (readonly string[])[];
  /** The jump (arguments after "-A <hook>"). */
  readonly jump: readonly string[];
}

/** What differs between the desired chain and the saved table. */
export interface ChainPlan {
  /** Our chain exists with exactly the desired rules. */
  readonly chainUpToDate: boolean;
  /** The hook holds exactly one rule of ours and it is the desired jump. */
  readonly jumpUpToDate: boolean;
  /** Our rules in the hook to delete (stale, duplicates, older forms). */
  readonly deleteJumps: readonly (readonly string[])[];
}

/** A rule that jumps (-j) or goes (-g) to `chain`. */
export const jumpsTo = (args: readonly string[], chain: string): boolean => args.some((a, i) => (a === "-j" || a === "-g") && args[i + 1] === chain);

/** Compares; `isOurs` tells the hook's rules of ours (the one jump to keep, or stale ones to delete). */
export function planChain(want: OwnChain, saved: SavedTable, isOurs: (args: readonly string[]) => boolean): ChainPlan {
  const have = saved.rules.filter((r) => r.chain === want.chain).map((r) => r.args);
  const chainUpToDate = saved.chains.has(want.chain) && have.length === want.rules.length && want.rules.every((w, i) => sameArgs(w, have[i] ?? []));
  const own = saved.rules.filter((r) => r.chain === want.hook && isOurs(r.args));
  const jumpUpToDate = own.length === 1 && sameArgs(own[0]?.args ?? [], want.jump);
  return { chainUpToDate, jumpUpToDate, deleteJumps: jumpUpToDate ? [] : own.map((r) => r.args) };
}

/**
 * The iptables-restore --noflush payload that applies a plan. Declaring `:<chain> - [0:0]` under --noflush
 * flushes just that chain (creating it if missing), so it is refilled atomically and nothing else in the table
 * is touched. When the jump is wrong, our rules in the hook are deleted and the right jump is inserted at the
 * top in the same transaction, so there is no moment without it.
 */
export function renderRefill(want: OwnChain, plan: ChainPlan): string {
  const lines = [`*${want.table}`, `:${want.chain} - [0:0]`];
  for (const args of want.rules) lines.push(`-A ${want.chain} ${formatRuleArgs(args)}`);
  if (!plan.jumpUpToDate) {
    for (const args of plan.deleteJumps) lines.push(`-D ${want.hook} ${formatRuleArgs(args)}`);
    lines.push(`-I ${want.hook} 1 ${formatRuleArgs(want.jump)}`);
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** The payload deleting `refs` (rules pointing at the chain) and the chain itself; undefined when nothing is there. */
export function renderRemoval(table: OwnChain["table"], chain: string, refs: readonly SavedRule[], saved: SavedTable): string | undefined {
  if (refs.length === 0 && !saved.chains.has(chain)) return undefined;
  const lines = [`*${table}`];
  for (const r of refs) lines.push(`-D ${r.chain} ${formatRuleArgs(r.args)}`);
  if (saved.chains.has(chain)) lines.push(`:${chain} - [0:0]`, `-X ${chain}`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}
