// agent/masq/sync-masq: one reconcile step of the masquerade rules of one family: read the nat table,
// compare with the desired spec, and write only when something differs (one iptables-restore, atomic).
// Async. Also the removal used by `kubenet-agent cleanup`.

import { parseIptablesSave } from "../../native/index.js";
import type { Iptables } from "./iptables.js";
import { countWrittenRules, isUpToDate, planMasq, renderMasqCleanup, renderMasqRestore, type MasqChainSpec } from "./render.js";

export interface MasqSyncResult {
  /** True when an iptables-restore ran. */
  readonly wrote: boolean;
  /** Rules written by that restore (0 when nothing was written). */
  readonly rulesWritten: number;
  /** What was wrong, for the log line ("chain", "jump"). */
  readonly repaired: readonly ("chain" | "jump")[];
}

export async function syncMasq(ipt: Iptables, spec: MasqChainSpec): Promise<MasqSyncResult> {
  const saved = parseIptablesSave(await ipt.save("nat"), "nat");
  const plan = planMasq(spec, saved);
  if (isUpToDate(plan)) return { wrote: false, rulesWritten: 0, repaired: [] };
  await ipt.restore(renderMasqRestore(spec, plan));
  const repaired: ("chain" | "jump")[] = [];
  if (!plan.chainUpToDate) repaired.push("chain");
  if (!plan.jumpUpToDate) repaired.push("jump");
  return { wrote: true, rulesWritten: countWrittenRules(spec, plan), repaired };
}

/** Removes our jump rules and chain from the nat table. Returns true when something was removed. */
export async function removeMasq(ipt: Iptables, chain: string): Promise<boolean> {
  const saved = parseIptablesSave(await ipt.save("nat"), "nat");
  const payload = renderMasqCleanup(chain, saved);
  if (payload === undefined) return false;
  await ipt.restore(payload);
  return true;
}
