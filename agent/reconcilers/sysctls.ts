// agent/reconcilers/sysctls: the kernel settings a bridged, masqueraded pod network needs, re-checked at
// every resync (distributions' sysctl.d files and other agents reset them) and written only
// when they differ. Async only for the one-off `modprobe br_netfilter`.

import type { IpFamily } from "../../core/ip.js";

/** Reads and writes /proc/sys/<dotted name with / for .>; read returns undefined when the key is absent. */
export interface SysctlIo {
  read(name: string): string | undefined;
  write(name: string, value: string): void;
}

export interface SysctlSetting {
  readonly name: string;
  readonly value: string;
}

const BRIDGE_NF_CALL = { 4: "net.bridge.bridge-nf-call-iptables", 6: "net.bridge.bridge-nf-call-ip6tables" } as const;
const FORWARDING = { 4: "net.ipv4.ip_forward", 6: "net.ipv6.conf.all.forwarding" } as const;

/** The settings for the PodCIDR families: bridged pod traffic must pass iptables, and the node must route. */
export function desiredSysctls(families: readonly IpFamily[]): SysctlSetting[] {
  const out: SysctlSetting[] = [];
  for (const f of [4, 6] as const) {
    if (!families.includes(f)) continue;
    out.push({ name: BRIDGE_NF_CALL[f], value: "1" }, { name: FORWARDING[f], value: "1" });
  }
  return out;
}

export interface SysctlSyncResult {
  /** Names written this time (they differed). */
  readonly written: readonly string[];
  /** br_netfilter state: "loaded" (present before), "modprobed" (we loaded it), or "missing". */
  readonly brNetfilter: "loaded" | "modprobed" | "missing";
  /** What could not be set (empty on success); the caller turns this into the step's error. */
  readonly problems: readonly string[];
}

/**
 * Brings the settings to their values. br_netfilter first: its keys exist only once the module is loaded
 * (it is built in on some kernels: then /proc/sys/net/bridge is simply there); `loadBrNetfilter` runs
 * `modprobe br_netfilter` when they are absent. One failing setting does not stop the others; failures
 * are returned in `problems`, next to what was written, so the writes are counted either way.
 */
export async function syncSysctls(
  io: SysctlIo,
  settings: readonly SysctlSetting[],
  loadBrNetfilter: () => Promise<void>,
): Promise<SysctlSyncResult> {
  const problems: string[] = [];
  let brNetfilter: SysctlSyncResult["brNetfilter"] = "loaded";
  if (settings.some((s) => s.name.startsWith("net.bridge.")) && io.read(BRIDGE_NF_CALL[4]) === undefined) {
    try {
      await loadBrNetfilter();
    } catch (err) {
      problems.push(`br_netfilter is not loaded and modprobe failed (${(err as Error).message})`);
    }
    brNetfilter = io.read(BRIDGE_NF_CALL[4]) === undefined ? "missing" : "modprobed";
  }
  const written: string[] = [];
  for (const s of settings) {
    try {
      const current = io.read(s.name);
      if (current === undefined) {
        if (!(brNetfilter === "missing" && s.name.startsWith("net.bridge."))) problems.push(`${s.name} does not exist`);
        continue;
      }
      if (current.trim() === s.value) continue;
      io.write(s.name, s.value);
      written.push(s.name);
    } catch (err) {
      problems.push(`cannot set ${s.name}=${s.value} (${(err as Error).message})`);
    }
  }
  return { written, brNetfilter, problems };
}
