// agent/host: the agent's seams bound to the real node: sysctls and rtnetlink through native/index.ts,
// xtables tools and modprobe through exec. The agent acts on the network namespace it runs in (the host's
// in a DaemonSet with hostNetwork; a throwaway one in tests). Synchronous except exec.

import { isErrno, openRtnl, readSysctl, writeSysctl, type Link } from "../native/index.js";
import { execChecked, execFile, type ExecFn } from "./exec.js";
import { createIptables, type Iptables, type IptablesMode } from "./masq/iptables.js";
import type { BridgeRtnl, ErrnoPredicate } from "./reconcilers/bridge.js";
import type { RoutesRtnl } from "./routes/reconcile.js";
import type { SysctlIo } from "./reconcilers/sysctls.js";
import type { IpFamily } from "../core/ip.js";

/** An rtnetlink handle for one sync: what the bridge reconciler and MTU detection need. */
export interface AgentRtnl extends BridgeRtnl, RoutesRtnl {
  linkList(): Link[];
  close(): void;
}

export interface HostDeps {
  readonly exec: ExecFn;
  readonly sysctl: SysctlIo;
  readonly openRtnl: () => AgentRtnl;
  readonly isErrno: ErrnoPredicate;
  readonly createIptables: (family: IpFamily, mode: IptablesMode) => Iptables;
  /** `modprobe br_netfilter`; rejects when it fails. */
  readonly loadBrNetfilter: () => Promise<void>;
}

const hostSysctl: SysctlIo = {
  read(name) {
    try {
      return readSysctl(name);
    } catch (err) {
      if (isErrno(err, "ENOENT")) return undefined;
      throw err;
    }
  },
  write: (name, value) => writeSysctl(name, value),
};

export function createHostDeps(options: { readonly lockWaitSeconds: number; readonly exec?: ExecFn }): HostDeps {
  const exec = options.exec ?? execFile;
  return {
    exec,
    sysctl: hostSysctl,
    openRtnl: () => openRtnl(),
    isErrno,
    createIptables: (family, mode) => createIptables({ exec, family, mode, lockWaitSeconds: options.lockWaitSeconds }),
    loadBrNetfilter: async () => {
      await execChecked(exec, "modprobe", ["br_netfilter"], { timeoutMs: 10_000 });
    },
  };
}
