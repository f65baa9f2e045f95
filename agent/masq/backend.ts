// agent/masq/backend: which iptables backend (legacy or nft) the node uses, detected the way
// kubernetes-sigs/iptables-wrappers does, so our rules land where kube-proxy's and the kubelet's are
// (rules written with one backend are invisible to the other: mixed backends make rules "vanish").
// Async (execs the save tools); decided once at start-up and never mixed afterwards.

import type { ExecFn } from "../exec.js";
import type { IptablesMode } from "./iptables.js";

export interface BackendDecision {
  readonly mode: IptablesMode;
  /** Why, for the start-up log line. */
  readonly reason: string;
}

// The kubelet (1.17+) creates one of these chains in the mangle table of the backend it uses.
const KUBELET_CHAIN_RE = /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)[\s]/m;

interface SaveOutput {
  readonly ok: boolean; // the tool exists and exited 0
  readonly text: string;
}

async function runSave(exec: ExecFn, file: string, args: readonly string[]): Promise<SaveOutput> {
  try {
    const r = await exec(file, args, { timeoutMs: 10_000 });
    return { ok: r.code === 0, text: r.code === 0 ? r.stdout : "" };
  } catch {
    return { ok: false, text: "" }; // not installed
  }
}

function countRules(text: string): number {
  let n = 0;
  for (const line of text.split("\n")) if (line.startsWith("-A ")) n++;
  return n;
}

/**
 * Decides the backend:
 *  1. the kubelet's hint chains in the nft mangle table (v4, then v6) => nft;
 *  2. the same chains in the legacy tables => legacy (all tables are saved: `-t mangle` would make the
 *     legacy kernel module create the table);
 *  3. otherwise the backend holding more rules (v4 + v6) wins, legacy only when strictly more;
 *  4. otherwise nft (the default of current distributions).
 * When only one variant is installed, it is used; when neither is, the plain `iptables` tools are.
 */
export async function detectIptablesMode(exec: ExecFn): Promise<BackendDecision> {
  const nft4 = await runSave(exec, "iptables-nft-save", ["-t", "mangle"]);
  const nft6 = await runSave(exec, "ip6tables-nft-save", ["-t", "mangle"]);
  if (KUBELET_CHAIN_RE.test(nft4.text) || KUBELET_CHAIN_RE.test(nft6.text)) {
    return { mode: "nft", reason: "kubelet hint chain found in the nft mangle table" };
  }
  const legacy4 = await runSave(exec, "iptables-legacy-save", []);
  const legacy6 = await runSave(exec, "ip6tables-legacy-save", []);
  if (KUBELET_CHAIN_RE.test(legacy4.text) || KUBELET_CHAIN_RE.test(legacy6.text)) {
    return { mode: "legacy", reason: "kubelet hint chain found in the legacy mangle table" };
  }
  const hasNft = nft4.ok || nft6.ok;
  const hasLegacy = legacy4.ok || legacy6.ok;
  if (!hasNft && !hasLegacy) return { mode: "plain", reason: "neither iptables-nft nor iptables-legacy is installed: using iptables" };
  if (!hasNft) return { mode: "legacy", reason: "only iptables-legacy is installed" };
  if (!hasLegacy) return { mode: "nft", reason: "only iptables-nft is installed" };
  const nftAll4 = await runSave(exec, "iptables-nft-save", []);
  const nftAll6 = await runSave(exec, "ip6tables-nft-save", []);
  const legacyRules = countRules(legacy4.text) + countRules(legacy6.text);
  const nftRules = countRules(nftAll4.text) + countRules(nftAll6.text);
  if (legacyRules > nftRules) {
    return { mode: "legacy", reason: `legacy tables hold more rules (${legacyRules}) than nft tables (${nftRules})` };
  }
  return { mode: "nft", reason: `nft chosen: nft tables hold ${nftRules} rules, legacy tables ${legacyRules}` };
}
