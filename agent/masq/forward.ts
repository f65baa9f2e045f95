// agent/masq/forward: keeps pod traffic forwarded whatever the FORWARD policy (Docker and some distros set
// it to DROP, and the article tells users to run `iptables -P FORWARD ACCEPT` by hand). Our own filter
// chain, jumped to from the top of FORWARD, accepts traffic from and to the cluster CIDR(s):
//   -A FORWARD -m comment --comment "kubenet: ..." -j KUBENET-FORWARD
//   -A KUBENET-FORWARD -s <cluster CIDR> -m comment --comment "kubenet: ..." -j ACCEPT
//   -A KUBENET-FORWARD -d <cluster CIDR> -m comment --comment "kubenet: ..." -j ACCEPT
// Same discipline as the masquerade chain: read, compare as tokens, one atomic iptables-restore only when
// something differs. Async (the xtables tools).

import { formatCidr, type IpFamily, type IpNet } from "../../core/ip.js";
import { parseIptablesSave, type SavedTable } from "../../native/index.js";
import { jumpsTo, planChain, renderRefill, renderRemoval, type OwnChain } from "./own-chain.js";
import type { Iptables } from "./iptables.js";

export const FORWARD_CHAIN = "KUBENET-FORWARD";
const FORWARD_JUMP_COMMENT = "kubenet: pod traffic is forwarded whatever the FORWARD policy";
const FORWARD_ACCEPT_COMMENT = "kubenet: cluster traffic is forwarded";

export interface ForwardSpec {
  readonly family: IpFamily;
  readonly chain: string;
  /** Traffic from or to these is accepted (the cluster CIDRs of the family, else the PodCIDR). */
  readonly cidrs: readonly IpNet[];
}

function renderForwardJumpArgs(spec: ForwardSpec): string[] {
  return ["-m", "comment", "--comment", FORWARD_JUMP_COMMENT, "-j", spec.chain];
}

function renderForwardChainArgs(spec: ForwardSpec): string[][] {
  return spec.cidrs.flatMap((c) => [
    ["-s", formatCidr(c), "-m", "comment", "--comment", FORWARD_ACCEPT_COMMENT, "-j", "ACCEPT"],
    ["-d", formatCidr(c), "-m", "comment", "--comment", FORWARD_ACCEPT_COMMENT, "-j", "ACCEPT"],
  ]);
}

/** The restore payload that brings the filter table to `spec`, or undefined when it is already there. */
function renderForwardRestore(spec: ForwardSpec, saved: SavedTable): string | undefined {
  const want: OwnChain = { table: "filter", hook: "FORWARD", chain: spec.chain, rules: renderForwardChainArgs(spec), jump: renderForwardJumpArgs(spec) };
  const plan = planChain(want, saved, (args) => jumpsTo(args, spec.chain));
  return plan.chainUpToDate && plan.jumpUpToDate ? undefined : renderRefill(want, plan);
}

/** One reconcile step for one family; returns the number of rules written (0: nothing was written). */
export async function syncForward(ipt: Iptables, spec: ForwardSpec): Promise<number> {
  const payload = renderForwardRestore(spec, parseIptablesSave(await ipt.save("filter"), "filter"));
  if (payload === undefined) return 0;
  await ipt.restore(payload);
  return payload.split("\n").filter((l) => l.startsWith("-A ") || l.startsWith("-I ")).length;
}

/** The payload removing every jump to our chain and the chain itself; undefined when nothing is there. */
function renderForwardCleanup(chain: string, saved: SavedTable): string | undefined {
  return renderRemoval("filter", chain, saved.rules.filter((r) => r.chain !== chain && jumpsTo(r.args, chain)), saved);
}

/** `kubenet-agent cleanup`: true when something was removed. */
export async function removeForward(ipt: Iptables, chain: string): Promise<boolean> {
  const payload = renderForwardCleanup(chain, parseIptablesSave(await ipt.save("filter"), "filter"));
  if (payload === undefined) return false;
  await ipt.restore(payload);
  return true;
}
