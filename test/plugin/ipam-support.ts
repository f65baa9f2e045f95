// test/plugin/ipam-support: helpers for the IPAM tests that run dist/host-local (and Debian's host-local)
// as a runtime would. Plain files in temp dirs: no namespaces and no root needed.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Teardownable } from "../support/netns.js";
import { HOST_LOCAL_BIN, REF_PLUGIN_DIR, runPlugin, type PluginInvocation, type PluginRun } from "../support/plugin-harness.js";

export const REF_HOST_LOCAL = join(REF_PLUGIN_DIR, "host-local");
export const REF_SKIP: string | false = existsSync(REF_HOST_LOCAL)
  ? false
  : `${REF_HOST_LOCAL} is missing (apt-get install -y containernetworking-plugins)`;

export function tempDir(t: Teardownable, prefix = "kubenet-ipam-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface HlConf {
  readonly version?: string;
  readonly name?: string;
  readonly dataDir: string;
  readonly ipam?: Readonly<Record<string, unknown>>;
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A host-local config as a runtime passes it (type host-local, the ipam section beside it). */
export function hlConf(o: HlConf): Record<string, unknown> {
  return {
    cniVersion: o.version ?? "1.0.0",
    name: o.name ?? "ipamnet",
    type: "host-local",
    ipam: { type: "host-local", dataDir: o.dataDir, ...(o.ipam ?? { subnet: "10.50.0.0/24" }) },
    ...(o.extra ?? {}),
  };
}

export type Op = Omit<PluginInvocation, "config" | "bin"> & { readonly config: unknown };

/** ADD/DEL/... through dist/host-local with the usual env (netns path irrelevant for IPAM). */
export function ours(inv: Op): PluginRun {
  return runPlugin({ netns: "/var/run/netns/none", ifName: "eth0", path: "/opt/cni/bin", ...inv, bin: HOST_LOCAL_BIN });
}

export function theirs(inv: Op): PluginRun {
  return runPlugin({ netns: "/var/run/netns/none", ifName: "eth0", path: REF_PLUGIN_DIR, ...inv, bin: REF_HOST_LOCAL });
}

/** The IPs of an ADD result in any version (ips[].address or ip4/ip6.ip). */
export function resultIps(json: unknown): string[] {
  const j = json as { ips?: { address: string }[]; ip4?: { ip: string }; ip6?: { ip: string } } | undefined;
  if (!j) return [];
  if (j.ips) return j.ips.map((i) => i.address.split("/")[0]!);
  return [j.ip4?.ip, j.ip6?.ip].filter((x): x is string => x !== undefined).map((s) => s.split("/")[0]!);
}

/** name -> content of every file in the network's lease directory (lock included, as ""). */
export function leaseDir(dataDir: string, name = "ipamnet"): Record<string, string> {
  const dir = join(dataDir, name);
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), "utf8");
  return out;
}

export function fileMode(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8);
}
