// agent/masq/iptables: the xtables tools for one family and one backend (legacy or nft), behind a small
// interface so the sync logic can be tested with a fake. Async (exec with a timeout).
// Every restore passes --wait so that a held xtables lock (kube-proxy, the runtime) makes us wait up to
// the limit instead of failing at once; the command timeout bounds the whole call.

import type { IpFamily } from "../../core/ip.js";
import { iptablesCommand, restoreArgs, type IptablesMode } from "../../native/index.js";
import { execChecked, type ExecFn } from "../exec.js";

export { iptablesCommand, type IptablesMode };

export interface Iptables {
  readonly family: IpFamily;
  readonly mode: IptablesMode;
  /** `iptables-save` output holding at least `table` (when it exists). */
  save(table: string): Promise<string>;
  /** `iptables-restore --noflush --wait=<s>` fed with `payload`. */
  restore(payload: string): Promise<void>;
  /** `iptables --version` first line, e.g. "iptables v1.8.9 (nf_tables)". */
  version(): Promise<string>;
}

export interface IptablesOptions {
  readonly exec: ExecFn;
  readonly family: IpFamily;
  readonly mode: IptablesMode;
  /** How long iptables-restore waits for the xtables lock (--wait); default 5 s. */
  readonly lockWaitSeconds?: number;
  /** Deadline of each command; default lock wait + 10 s. */
  readonly timeoutMs?: number;
}

export function createIptables(options: IptablesOptions): Iptables {
  const { exec, family, mode } = options;
  const wait = options.lockWaitSeconds ?? 5;
  const timeoutMs = options.timeoutMs ?? (wait + 10) * 1000;
  return {
    family,
    mode,
    // Only the nft tools get "-t <table>": with the legacy backend, naming a table makes the kernel create
    // it (iptables-wrappers' warning), so we read all tables and pick ours (parseIptablesSave does).
    save: (table) => execChecked(exec, iptablesCommand("save", family, mode), mode === "nft" ? ["-t", table] : [], { timeoutMs }),
    async restore(payload) {
      await execChecked(exec, iptablesCommand("restore", family, mode), restoreArgs(wait), { input: payload, timeoutMs });
    },
    async version() {
      const out = await execChecked(exec, iptablesCommand("", family, mode), ["--version"], { timeoutMs });
      return out.split("\n")[0]?.trim() ?? "";
    },
  };
}

/**
 * True when the iptables version supports MASQUERADE --random-fully (iptables >= 1.6.2, as ip-masq-agent
 * checks; the kernel side exists since 3.13).
 */
export function supportsRandomFully(versionLine: string): boolean {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(versionLine);
  if (m === null) return false;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (maj !== 1) return maj > 1;
  if (min !== 6) return min > 6;
  return patch >= 2;
}
