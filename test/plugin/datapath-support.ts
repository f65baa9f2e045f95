// test/plugin/datapath-support: shared helpers for the datapath and end-to-end tests (helper-3's files).
// Configs, result readers that understand every result version, and kernel-state oracles via `ip -j`.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type t from "tap";
import type { TestNetns, Teardownable } from "../support/netns.js";
import { describeRun, runPlugin, runPluginAsync, type PluginInvocation, type PluginRun } from "../support/plugin-harness.js";

/** A tap subtest (the type of `t` inside `t.test(name, async (t) => ...)`). */
export type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

export const ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type Version = (typeof ALL_VERSIONS)[number];

export function tempDir(t: Teardownable, prefix = "kubenet-dp-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const containerId = (): string => randomBytes(32).toString("hex");

export interface KubenetConfOptions {
  readonly version?: string;
  readonly name?: string;
  readonly type?: string;
  readonly bridge?: string;
  readonly mtu?: number;
  /** host-local range sets: [[{subnet, gateway?}]] */
  readonly ranges?: readonly (readonly Record<string, string>[])[];
  readonly subnet?: string;
  readonly routes?: readonly Record<string, string>[];
  readonly dataDir: string;
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly ipam?: Readonly<Record<string, unknown>>;
}

/** The config the agent writes (one plugin, as containerd hands it over: the list's name and version injected). */
export function kubenetConf(o: KubenetConfOptions): Record<string, unknown> {
  const ranges = o.ranges ?? [[{ subnet: o.subnet ?? "10.77.1.0/24" }]];
  return {
    cniVersion: o.version ?? "1.1.0",
    name: o.name ?? "kubenet",
    type: o.type ?? "kubenet",
    bridge: o.bridge ?? "cbr0",
    mtu: o.mtu ?? 1460,
    hairpinMode: true,
    isGateway: true,
    isDefaultGateway: true,
    forceAddress: true,
    ipam: o.ipam ?? {
      type: "host-local",
      ranges,
      routes: o.routes ?? [{ dst: "0.0.0.0/0" }],
      dataDir: o.dataDir,
    },
    ...(o.extra ?? {}),
  };
}

export interface Attach {
  readonly host: TestNetns;
  readonly netns: string | undefined;
  readonly id: string;
  readonly ifName?: string;
  readonly config: unknown;
  readonly bin?: string;
  readonly path?: string;
  readonly args?: string;
}

/** The harness invocation for an attachment (what `cni` runs). */
export function inv(command: string, a: Attach): PluginInvocation {
  return {
    command,
    containerId: a.id,
    ...(a.netns !== undefined ? { netns: a.netns } : {}),
    ifName: a.ifName ?? "eth0",
    path: a.path ?? "/opt/cni/bin",
    config: a.config,
    host: a.host,
    ...(a.bin !== undefined ? { bin: a.bin } : {}),
    ...(a.args !== undefined ? { args: a.args } : {}),
  };
}

export const cni = (command: string, a: Attach): PluginRun => runPlugin(inv(command, a));
export const cniAsync = (command: string, a: Attach): Promise<PluginRun> => runPluginAsync(inv(command, a));

/** The config with prevResult set (what a runtime sends on CHECK/DEL). */
export function withPrev(config: Record<string, unknown>, prevResult: unknown): Record<string, unknown> {
  return { ...config, prevResult };
}

export function ok(run: PluginRun): PluginRun {
  if (run.code !== 0) throw new Error(`plugin failed: ${describeRun(run)}`);
  return run;
}

/** IP addresses ("a.b.c.d/nn") of a result of any version. */
export function resultIps(json: unknown): string[] {
  const r = json as { ips?: { address: string }[]; ip4?: { ip: string }; ip6?: { ip: string } };
  if (Array.isArray(r.ips)) return r.ips.map((i) => i.address);
  return [r.ip4?.ip, r.ip6?.ip].filter((x): x is string => typeof x === "string");
}

/** Lease files (IP names) in <dataDir>/<network>. */
export function leases(dataDir: string, network = "kubenet"): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dataDir, network));
  } catch {
    return [];
  }
  // IP names only: not lock, last_reserved_ip.<n>, kubenet-boot-id (reclaimAfterReboot) or temp files.
  return names.filter((n) => /^[0-9a-f.:]+$/.test(n) && (n.includes(".") || n.includes(":"))).sort();
}

export function leaseOwner(dataDir: string, ip: string, network = "kubenet"): string {
  return readFileSync(join(dataDir, network, ip), "utf8");
}

interface IpLink {
  ifname: string;
  mtu: number;
  operstate?: string;
  address?: string;
  master?: string;
  flags?: string[];
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_slave_data?: { hairpin?: boolean } };
}

export function links(ns: TestNetns): IpLink[] {
  return ns.ipJson(["-d", "link", "show"]) as IpLink[];
}

export function vethNames(ns: TestNetns): string[] {
  return links(ns)
    .filter((l) => l.linkinfo?.info_kind === "veth")
    .map((l) => l.ifname);
}

export function link(ns: TestNetns, name: string): IpLink | undefined {
  return links(ns).find((l) => l.ifname === name);
}

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  scope: string;
}

export function addrs(ns: TestNetns, dev: string): IpAddrInfo[] {
  const out = ns.ipJson(["addr", "show", "dev", dev]) as { addr_info: IpAddrInfo[] }[];
  return out[0]?.addr_info ?? [];
}

export function globalAddrs(ns: TestNetns, dev: string): string[] {
  return addrs(ns, dev)
    .filter((a) => a.scope === "global")
    .map((a) => `${a.local}/${a.prefixlen}`);
}

export function defaultRoutes(ns: TestNetns, family: 4 | 6 = 4): { gateway?: string; dev?: string }[] {
  return ns.ipJson([`-${family}`, "route", "show", "default"]) as { gateway?: string; dev?: string }[];
}

export function ping(from: TestNetns, ip: string): { ok: boolean; out: string } {
  const args = ip.includes(":") ? ["-6", "-c1", "-W2", ip] : ["-c1", "-W2", ip];
  const r = from.run("ping", args);
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const stripPrefix = (cidr: string): string => cidr.split("/")[0] as string;
