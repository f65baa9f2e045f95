// agent/cleanup: `kubenet-agent cleanup`: removes what the agent added: the POSTROUTING jump(s) and the
// masquerade chain (v4 and v6), the FORWARD jump and chain, the host-gw routes (our route protocol only),
// and the conflist it wrote. Sysctls and cbr0 stay: other software may rely
// on forwarding, and the bridge belongs to the plugin and its pods. Async.
// With --iptables-mode auto both backends are searched (removing from the one that has our rules cannot
// mix anything: nothing is written where nothing of ours is found).

import type { AgentConfig } from "./config.js";
import type { HostDeps } from "./host.js";
import { describeError, type Logger } from "./log.js";
import type { IptablesMode } from "./masq/iptables.js";
import { removeMasq } from "./masq/sync-masq.js";
import { FORWARD_CHAIN, removeForward } from "./masq/forward.js";
import { syncRoutes } from "./routes/reconcile.js";
import { removeConflist } from "./reconcilers/conflist.js";

export interface CleanupReport {
  readonly removed: readonly string[];
  readonly errors: readonly string[];
}

export async function runCleanup(
  config: Pick<AgentConfig, "cniConfDir" | "cniConfName" | "masqChain" | "iptablesMode">,
  host: HostDeps,
  log: Logger,
): Promise<CleanupReport> {
  const removed: string[] = [];
  const errors: string[] = [];
  const modes: IptablesMode[] = config.iptablesMode === "auto" ? ["nft", "legacy"] : [config.iptablesMode];
  for (const mode of modes) {
    for (const family of [4, 6] as const) {
      const ipt = host.createIptables(family, mode);
      try {
        if (await removeMasq(ipt, config.masqChain)) removed.push(`${config.masqChain} (IPv${family}, ${mode})`);
        if (await removeForward(ipt, FORWARD_CHAIN)) removed.push(`${FORWARD_CHAIN} (IPv${family}, ${mode})`);
      } catch (err) {
        // A backend or family that is not installed has nothing of ours to remove.
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        errors.push(`IPv${family} ${mode} rules: ${describeError(err)}`);
      }
    }
  }
  try {
    // Syncing towards "no routes" deletes exactly the routes carrying our protocol number.
    const rtnl = host.openRtnl();
    try {
      const r = syncRoutes(rtnl, [], host.isErrno);
      for (const d of r.deleted) removed.push(`route ${d}`);
      for (const e of r.errors) errors.push(`routes: ${describeError(e)}`);
    } finally {
      rtnl.close();
    }
  } catch (err) {
    errors.push(`routes: ${describeError(err)}`);
  }
  try {
    if (await removeConflist(config.cniConfDir, config.cniConfName)) removed.push(`${config.cniConfDir}/${config.cniConfName}`);
  } catch (err) {
    errors.push(`conflist: ${describeError(err)}`);
  }
  for (const r of removed) log.info("Removed", { what: r });
  for (const e of errors) log.error("Cleanup failed", { error: e });
  return { removed, errors };
}
