// scripts/bench-bandwidth: a shaped pod's whole CNI chain, the Go reference against ours, in one run,
// interleaved: ADD, CHECK (prevResult = the ADD's result) and DEL of every pod at each concurrency, every pod
// limited to 10 Mbit/s in and 50 Mbit/s out (runtimeConfig.bandwidth, as containerd passes the annotations).
// Modes: "go" = Debian's loopback + bridge + bandwidth (a conflist of two plugins: three executables per
// pod); "ours" = loopback + the `kubenet` type shaping itself (two); "ours-chain" = our bridge + our
// `bandwidth` drop-in, the same chain as go's. Run by scripts/bench.sh bandwidth inside `unshare --net --mount`.
//   node bench-bandwidth.cjs --dist DIR --work DIR [--pods N] [--rounds N] [--c 1,8] [--modes go,ours,ours-chain]

import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { OPS, cpuTimes, newCell, renderTable, type Cell, type Op } from "./bench-cni-stats.js";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const dist = resolve(arg("--dist", "dist"));
const work = resolve(arg("--work", ""));
const pods = Number(arg("--pods", "16"));
const rounds = Number(arg("--rounds", "3"));
const concurrencies = arg("--c", "1,8").split(",").map(Number);
const GO = "/usr/lib/cni";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const LIMITS = { bandwidth: { ingressRate: 10_000_000, ingressBurst: 1_000_000, egressRate: 50_000_000, egressBurst: 1_000_000 } };

/** One plugin of a chain: executable + its config (runtimeConfig already injected, as libcni does). */
interface Step {
  readonly bin: string;
  readonly conf: Record<string, unknown>;
}
interface Mode {
  readonly name: string;
  readonly cniPath: string;
  readonly steps: readonly Step[];
}

function bridgeConf(name: string, type: string, bridge: string, subnet: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.0.0", name, type, bridge, mtu: 1460, hairpinMode: true, isGateway: true, isDefaultGateway: true, forceAddress: true,
    ipam: { type: "host-local", ranges: [[{ subnet }]], dataDir: join(work, "leases") },
    ...extra,
  };
}
const bandwidthStep = (bin: string, name: string): Step => ({ bin, conf: { cniVersion: "1.0.0", name, type: "bandwidth", runtimeConfig: LIMITS } });
const LOOPBACK = { cniVersion: "1.0.0", name: "cni-loopback", type: "loopback" };

function makeModes(): Mode[] {
  const all: Mode[] = [
    { name: "go", cniPath: GO, steps: [{ bin: join(GO, "loopback"), conf: LOOPBACK }, { bin: join(GO, "bridge"), conf: bridgeConf("bw-go", "bridge", "gobr0", "10.30.0.0/16") }, bandwidthStep(join(GO, "bandwidth"), "bw-go")] },
    { name: "ours", cniPath: dist, steps: [{ bin: join(dist, "loopback"), conf: LOOPBACK }, { bin: join(dist, "kubenet"), conf: bridgeConf("bw-ours", "kubenet", "kbr0", "10.40.0.0/16", { runtimeConfig: LIMITS }) }] },
    { name: "ours-chain", cniPath: dist, steps: [{ bin: join(dist, "loopback"), conf: LOOPBACK }, { bin: join(dist, "bridge"), conf: bridgeConf("bw-chain", "bridge", "kbr1", "10.41.0.0/16") }, bandwidthStep(join(dist, "bandwidth"), "bw-chain")] },
  ];
  const wanted = arg("--modes", "go,ours,ours-chain").split(",");
  return all.filter((m) => wanted.includes(m.name));
}

function invoke(bin: string, env: Record<string, string>, conf: unknown): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(bin, [], { env: { PATH, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.on("error", fail);
    child.on("close", (code) => (code === 0 ? done(Buffer.concat(out).toString()) : fail(new Error(`${bin} ${env["CNI_COMMAND"]} exited ${code}: ${Buffer.concat(out).toString()}`))));
    child.stdin.end(JSON.stringify(conf));
  });
}

/** Results per (mode, pod): loopback's, then the network chain's final result (libcni caches that one). */
const results = new Map<string, { lo: unknown; net: unknown }>();

/** A pod's chain as libcni runs it: loopback alone; the network list in order on ADD/CHECK, reversed on DEL. */
async function chain(mode: Mode, op: Op, pod: string): Promise<void> {
  const env = { CNI_COMMAND: op, CNI_CONTAINERID: pod, CNI_NETNS: `/run/netns/${pod}`, CNI_PATH: mode.cniPath };
  const cached = results.get(`${mode.name}|${pod}`);
  const [lo, ...net] = mode.steps as [Step, ...Step[]];
  const loOut = await invoke(lo.bin, { ...env, CNI_IFNAME: "lo" }, op === "ADD" ? lo.conf : { ...lo.conf, prevResult: cached?.lo });
  let prev: unknown = op === "ADD" ? undefined : cached?.net;
  for (const step of op === "DEL" ? [...net].reverse() : net) {
    const out = await invoke(step.bin, { ...env, CNI_IFNAME: "eth0" }, prev === undefined ? step.conf : { ...step.conf, prevResult: prev });
    if (op === "ADD") prev = JSON.parse(out);
  }
  if (op === "ADD") results.set(`${mode.name}|${pod}`, { lo: JSON.parse(loOut), net: prev });
  if (op === "DEL") results.delete(`${mode.name}|${pod}`);
}

async function phase(mode: Mode, op: Op, names: readonly string[], c: number, cell: Cell): Promise<void> {
  const cpu0 = cpuTimes("self").children;
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const pod = names[next++] as string;
      const t = performance.now();
      await chain(mode, op, pod);
      cell.latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  cell.wallMs += performance.now() - t0;
  cell.pods += names.length;
  cell.pluginCpuMs += cpuTimes("self").children - cpu0;
}

const netns = (verb: "add" | "delete", names: readonly string[]): void => {
  execFileSync("ip", ["-batch", "-"], { input: names.map((n) => `netns ${verb} ${n}\n`).join("") });
};
const ifbCount = (): number => (JSON.parse(execFileSync("ip", ["-j", "link", "show", "type", "ifb"], { encoding: "utf8" }) || "[]") as unknown[]).length;

async function main(): Promise<void> {
  if (process.env["KUBENET_BENCH_SANDBOX"] !== "1") throw new Error("run through scripts/bench.sh bandwidth (it sets up the sandbox)");
  mkdirSync(join(work, "leases"), { recursive: true });
  const modes = makeModes();
  const cells = new Map<string, Cell>();
  const cell = (m: Mode, c: number, op: Op): Cell => {
    const k = `${m.name}|${c}|${op}`;
    if (!cells.has(k)) cells.set(k, newCell());
    return cells.get(k) as Cell;
  };
  const warm = modes.map((_, i) => `warmup${i}`);
  netns("add", warm);
  for (const [i, m] of modes.entries()) for (const op of OPS) await chain(m, op, warm[i] as string);
  netns("delete", warm);
  for (let r = 0; r < rounds; r++) {
    for (const c of concurrencies) {
      for (let i = 0; i < modes.length; i++) {
        const m = modes[(i + r) % modes.length] as Mode;
        const names = Array.from({ length: pods }, (_, p) => `w${r}c${c}${m.name.replace(/[^a-z]/g, "")}p${p}`);
        netns("add", names);
        for (const op of OPS) await phase(m, op, names, c, cell(m, c, op));
        netns("delete", names);
        if (ifbCount() !== 0) throw new Error(`${m.name}: ${ifbCount()} IFB devices left after DEL`);
      }
    }
    process.stderr.write(`round ${r + 1}/${rounds} done (load ${loadavg()[0]?.toFixed(1)})\n`);
  }
  console.log(`\n${pods} shaped pods (10 Mbit/s in, 50 out) x ${rounds} rounds per mode and concurrency; per pod = loopback + network chain; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
  console.log(renderTable(modes.map((m) => m.name), "go", concurrencies, cells));
  console.log("\nCPU per pod: user+sys of the plugin processes; pods/s: throughput of a whole phase. No IFB was left after any DEL phase.");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
