// scripts/bench-cni-driver: what the CNI chain benches (bench-cni, bench-bandwidth, bench-hostport) share: their
// flags, the bridge config both implementations get, a plugin run as a runtime does it, a pod's chain as libcni
// runs a conflist, the pod namespaces, one timed phase, and the rounds (every mode in every round, in a rotating
// order, after an unmeasured warm-up). Runs inside scripts/bench.sh's sandbox (tmpfs over /run, own netns).

import { execFileSync, spawn } from "node:child_process";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { cpuTimes, newCell, type Cell, type Op } from "./bench-cni-stats.js";

/** Debian's containernetworking-plugins: the Go reference. */
export const GO = "/usr/lib/cni";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The value after `name` on the command line, else `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Every value given after `name` (a flag that may repeat). */
export const args = (name: string): string[] => process.argv.flatMap((a, i) => (a === name && process.argv[i + 1] !== undefined ? [process.argv[i + 1] as string] : []));

/** The flags every chain bench takes: --dist, --work, --pods, --rounds, --c. */
export function benchFlags(defaultPods: number): { dist: string; work: string; pods: number; rounds: number; concurrencies: number[] } {
  return {
    dist: resolve(arg("--dist", "dist")),
    work: resolve(arg("--work", "")),
    pods: Number(arg("--pods", String(defaultPods))),
    rounds: Number(arg("--rounds", "3")),
    concurrencies: arg("--c", "1,8").split(",").map(Number),
  };
}

/** The bridge config both sides get (the agent's keys), leases under `work`. */
export function bridgeConf(work: string, name: string, type: string, bridge: string, subnet: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.0.0", name, type, bridge, mtu: 1460, hairpinMode: true, isGateway: true, isDefaultGateway: true, forceAddress: true,
    // No ipam routes: isDefaultGateway adds the default route (Debian's bridge fails on a second one).
    ipam: { type: "host-local", ranges: [[{ subnet }]], dataDir: join(work, "leases") },
    ...extra,
  };
}

export const LOOPBACK_CONF = { cniVersion: "1.0.0", name: "cni-loopback", type: "loopback" };

/** Runs one plugin as a runtime does (clean env, config on stdin); resolves with stdout, rejects on failure. */
export function invoke(bin: string, env: Record<string, string>, conf: unknown): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(bin, [], { env: { PATH, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", fail);
    child.on("close", (code) => {
      const stdout = Buffer.concat(out).toString();
      if (code === 0) done(stdout);
      else fail(new Error(`${bin} ${env["CNI_COMMAND"]} ${env["CNI_CONTAINERID"]} exited ${code}: ${stdout}${Buffer.concat(err).toString()}`));
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

/** One plugin of a network's list: its executable and its config (runtimeConfig injected as libcni does). */
export interface Plugin {
  readonly bin: string;
  readonly conf: Record<string, unknown>;
}

/** How a mode wires a pod: loopback alone, then the network's plugins (one, or a chain). */
export interface ChainMode {
  readonly name: string;
  readonly cniPath: string;
  readonly loopback: string;
  readonly network: readonly Plugin[];
}

/** Results of the ADDs per (mode, pod), loopback's and the network's last: CHECK and DEL get them (libcni's cache). */
const results = new Map<string, { lo: unknown; net: unknown }>();

/**
 * A pod's chain as libcni runs it: loopback, then the network's plugins in order (reversed on DEL); ADD passes
 * each result to the next, CHECK and DEL pass the cached one. `extra` goes into every network plugin's config.
 */
export async function runChain(mode: ChainMode, op: Op, pod: string, extra: Record<string, unknown> = {}): Promise<void> {
  const env = { CNI_COMMAND: op, CNI_CONTAINERID: pod, CNI_NETNS: `/run/netns/${pod}`, CNI_PATH: mode.cniPath };
  const key = `${mode.name}|${pod}`;
  const cached = results.get(key);
  const withPrev = (conf: object, prev: unknown): object => (prev === undefined ? conf : { ...conf, prevResult: prev });
  const lo = await invoke(mode.loopback, { ...env, CNI_IFNAME: "lo" }, withPrev(LOOPBACK_CONF, op === "ADD" ? undefined : cached?.lo));
  let prev: unknown = op === "ADD" ? undefined : cached?.net;
  for (const p of op === "DEL" ? [...mode.network].reverse() : mode.network) {
    const out = await invoke(p.bin, { ...env, CNI_IFNAME: "eth0" }, withPrev({ ...p.conf, ...extra }, prev));
    if (op === "ADD") prev = JSON.parse(out);
  }
  if (op === "ADD") results.set(key, { lo: JSON.parse(lo), net: prev });
  if (op === "DEL") results.delete(key);
}

/** Adds or deletes named network namespaces with one `ip -batch`. */
export function netns(verb: "add" | "delete", names: readonly string[]): void {
  execFileSync("ip", ["-batch", "-"], { input: names.map((n) => `netns ${verb} ${n}\n`).join("") });
}

/**
 * One phase: `run` for every pod with `c` at a time; adds the latencies, the wall time and the CPU of the
 * plugin processes (children reaped here) to `cell`, and that of `agentPid` (a serving agent) when given: its
 * own and its reaped children's (the iptables tools it ran for host ports).
 */
export async function phase(run: (pod: string) => Promise<void>, names: readonly string[], c: number, cell: Cell, agentPid?: number): Promise<void> {
  const cpu0 = cpuTimes("self").children;
  const agentCpu = (pid: number): number => cpuTimes(pid).own + cpuTimes(pid).children;
  const agent0 = agentPid !== undefined ? agentCpu(agentPid) : 0;
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const pod = names[next++] as string;
      const t = performance.now();
      await run(pod);
      cell.latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  cell.wallMs += performance.now() - t0;
  cell.pods += names.length;
  cell.pluginCpuMs += cpuTimes("self").children - cpu0;
  if (agentPid !== undefined) cell.agentCpuMs += agentCpu(agentPid) - agent0;
}

/** A bench's rounds: its modes, the ops timed, how a pod is wired, and optional hooks around each mode's phases. */
export interface Rounds<M extends { readonly name: string }> {
  readonly modes: readonly M[];
  readonly ops: readonly Op[];
  readonly pods: number;
  readonly rounds: number;
  readonly concurrencies: readonly number[];
  /** First letter of the pod namespaces' names (the benches use their own). */
  readonly tag: string;
  readonly chain: (m: M, op: Op, pod: string) => Promise<void>;
  /** A process whose CPU counts for the mode (its agent), while the phases run. */
  readonly agentPid?: (m: M) => number | undefined;
  /** Wraps a mode's phases (e.g. starts its agent); `round` is undefined for the warm-up. */
  readonly around?: (m: M, body: () => Promise<void>, round?: { readonly r: number; readonly c: number }) => Promise<void>;
  /** Checks after a mode's pods are gone (e.g. nothing left behind). */
  readonly after?: (m: M) => void;
}

/**
 * The warm-up (page cache, each bridge created once: not measured), then every round: at each concurrency every
 * mode, in an order that rotates with the round so drift in the machine's load hits all. Cells keyed
 * `${mode}|${c}|${op}` (renderTable's keys).
 */
export async function runRounds<M extends { readonly name: string }>(b: Rounds<M>): Promise<Map<string, Cell>> {
  const around = b.around ?? ((_m: M, body: () => Promise<void>) => body());
  const cells = new Map<string, Cell>();
  const cell = (m: M, c: number, op: Op): Cell => {
    const k = `${m.name}|${c}|${op}`;
    if (!cells.has(k)) cells.set(k, newCell());
    return cells.get(k) as Cell;
  };
  const warm = b.modes.map((_, i) => `warmup${i}`);
  netns("add", warm);
  for (const [i, m] of b.modes.entries()) {
    await around(m, async () => {
      for (const op of b.ops) await b.chain(m, op, warm[i] as string);
    });
  }
  netns("delete", warm);
  for (let r = 0; r < b.rounds; r++) {
    for (const c of b.concurrencies) {
      for (let i = 0; i < b.modes.length; i++) {
        const m = b.modes[(i + r) % b.modes.length] as M;
        const names = Array.from({ length: b.pods }, (_, p) => `${b.tag}${r}c${c}${m.name.replace(/[^a-z0-9]/g, "")}p${p}`);
        netns("add", names);
        await around(m, async () => {
          for (const op of b.ops) await phase((pod) => b.chain(m, op, pod), names, c, cell(m, c, op), b.agentPid?.(m));
        }, { r, c });
        netns("delete", names);
        b.after?.(m);
      }
    }
    process.stderr.write(`round ${r + 1}/${b.rounds} done (load ${loadavg()[0]?.toFixed(1)})\n`);
  }
  return cells;
}

/** The load average as printed under the tables. */
export const loadText = (): string => loadavg().map((x) => x.toFixed(1)).join(" ");
