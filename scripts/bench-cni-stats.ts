// scripts/bench-cni-stats: what bench-cni.ts measures, summed up: percentiles, CPU time of processes (ours and
// the children we waited for, from /proc/<pid>/stat) and the printed table with the ratios ours/Go.
// Pure apart from reading /proc.

import { readFileSync } from "node:fs";

export type Op = "ADD" | "CHECK" | "DEL";
export const OPS: readonly Op[] = ["ADD", "CHECK", "DEL"];

/** Everything one (mode, concurrency, op) cell collected over all rounds. */
export interface Cell {
  readonly latencies: number[];
  /** CPU ms of the plugin processes (children reaped by the driver), summed. */
  pluginCpuMs: number;
  /** CPU ms the agent spent during the phases (service mode), with the tools it ran (its reaped children). */
  agentCpuMs: number;
  pods: number;
  /** Wall ms of the whole phases, summed (throughput = pods / wall). */
  wallMs: number;
}

export const newCell = (): Cell => ({ latencies: [], pluginCpuMs: 0, agentCpuMs: 0, pods: 0, wallMs: 0 });

/** The nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** The kernel's clock ticks per second for /proc/<pid>/stat times (USER_HZ: 100 on every Linux ABI). */
const USER_HZ = 100;

/**
 * CPU time of a process from /proc/<pid>/stat, in ms: its own (utime+stime) and its reaped children's
 * (cutime+cstime). The kernel keeps these in ns and rounds the running totals, so deltas summed over a phase
 * are exact to one tick however short each child was.
 */
export function cpuTimes(pid: number | "self"): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": the comm may hold spaces; state is field 3, utime 14 ... cstime 17.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  const at = (field: number): number => f[field - 3] ?? 0;
  return { own: ((at(14) + at(15)) * 1000) / USER_HZ, children: ((at(16) + at(17)) * 1000) / USER_HZ };
}

const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : "-");
const ratio = (ours: number, go: number): string => (Number.isFinite(ours) && Number.isFinite(go) && go > 0 ? `${(ours / go).toFixed(2)}x` : "-");

/** Throughput of a cell in pods per second. */
export const podsPerSecond = (c: Cell): number => (c.wallMs > 0 ? (c.pods * 1000) / c.wallMs : Number.NaN);

/** CPU ms per pod (plugin processes + the agent's share). */
export const cpuPerPod = (c: Cell): number => (c.pods > 0 ? (c.pluginCpuMs + c.agentCpuMs) / c.pods : Number.NaN);

/**
 * The report: one row per (op, concurrency), per mode p50/p95 ms and the ratio of p50 to the reference mode;
 * then CPU per pod and throughput at the highest concurrency. `cells` is keyed `${mode}|${c}|${op}`; `ops`: the
 * operations the bench timed.
 */
export function renderTable(
  modes: readonly string[],
  reference: string,
  concurrencies: readonly number[],
  cells: ReadonlyMap<string, Cell>,
  ops: readonly Op[] = OPS,
): string {
  const get = (m: string, c: number, op: Op): Cell => cells.get(`${m}|${c}|${op}`) ?? newCell();
  const others = modes.filter((m) => m !== reference);
  const head = ["what", ...modes.map((m) => `${m} p50 / p95 ms`), ...others.map((m) => `${m}/${reference}`)];
  const rows: string[][] = [];
  for (const c of concurrencies) {
    for (const op of ops) {
      const go = percentile(get(reference, c, op).latencies, 50);
      rows.push([
        `${op} C=${c}`,
        ...modes.map((m) => `${ms(percentile(get(m, c, op).latencies, 50))} / ${ms(percentile(get(m, c, op).latencies, 95))}`),
        ...others.map((m) => ratio(percentile(get(m, c, op).latencies, 50), go)),
      ]);
    }
  }
  for (const op of ops) {
    const sum = (m: string): Cell => {
      const all = newCell();
      for (const c of concurrencies) {
        const x = get(m, c, op);
        all.pluginCpuMs += x.pluginCpuMs;
        all.agentCpuMs += x.agentCpuMs;
        all.pods += x.pods;
      }
      return all;
    };
    const go = cpuPerPod(sum(reference));
    rows.push([`CPU per pod, ${op} (ms)`, ...modes.map((m) => ms(cpuPerPod(sum(m)))), ...others.map((m) => ratio(cpuPerPod(sum(m)), go))]);
  }
  for (const m of modes) {
    let agentMs = 0;
    let n = 0;
    for (const c of concurrencies) {
      for (const op of ops) {
        agentMs += get(m, c, op).agentCpuMs;
        n += get(m, c, op).pods;
      }
    }
    if (agentMs > 0) rows.push([`of which ${m}'s agent, per pod and op (ms)`, ...modes.map((x) => (x === m ? ms(agentMs / n) : "")), ...others.map(() => "")]);
  }
  const top = concurrencies[concurrencies.length - 1] ?? 1;
  for (const op of ops) {
    const go = podsPerSecond(get(reference, top, op));
    rows.push([`${op} pods/s at C=${top}`, ...modes.map((m) => ms(podsPerSecond(get(m, top, op)))), ...others.map((m) => ratio(podsPerSecond(get(m, top, op)), go))]);
  }
  const line = (cols: readonly string[]): string => `| ${cols.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}
