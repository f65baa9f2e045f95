// scripts/bench-cni: the whole CNI chain as containerd runs it for a pod (loopback, then the network), the Go
// reference plugins (Debian's /usr/lib/cni: loopback + bridge + host-local) against ours, in one run,
// interleaved: ADD, CHECK (with the ADD's result as prevResult) and DEL of every pod, at each concurrency.
// Modes: "go"; "ours" (dist/kubenet, no agent: the command runs in-process); "ours-agent" (the same executable
// with the agent's CNI service running on the default socket /run/kubenet/cni.sock, started here for that mode's
// phases only, so the loopback call finds it as on a node, and warmed with C unmeasured pods first: see
// warmAgent). Each mode has its own bridge and subnet.
// Run by scripts/bench.sh inside `unshare --net --mount` with tmpfs over /run: no trace on the machine.
//   node bench-cni.cjs --dist DIR --work DIR [--pods N] [--rounds N] [--c 1,8] [--modes go,ours,ours-agent]
//                      [--variant NAME=PATH ...]   (another build of ours, e.g. the Node script, no agent)
//                      [--agent PATH]              (the kubenet-agent to run; default DIST/kubenet-agent)

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { OPS, cpuTimes, newCell, renderTable, type Cell, type Op } from "./bench-cni-stats.js";
import { startAgent, type Agent } from "./bench-cni-agent.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const args = (name: string): string[] => process.argv.flatMap((a, i) => (a === name && process.argv[i + 1] !== undefined ? [process.argv[i + 1] as string] : []));

const dist = resolve(arg("--dist", "dist"));
const work = resolve(arg("--work", ""));
const pods = Number(arg("--pods", "24"));
const rounds = Number(arg("--rounds", "3"));
const concurrencies = arg("--c", "1,8").split(",").map(Number);
const agentBin = resolve(arg("--agent", join(dist, "kubenet-agent")));
const GO = "/usr/lib/cni";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface Mode {
  readonly name: string;
  readonly loopback: string;
  readonly network: string;
  readonly cniPath: string;
  readonly conf: Record<string, unknown>;
  /** Starts the agent this mode needs (for its phases only: the other modes run without it). */
  readonly startAgent?: () => Agent;
  agent?: Agent;
}

function bridgeConf(name: string, type: string, bridge: string, subnet: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name,
    type,
    bridge,
    mtu: 1460,
    hairpinMode: true,
    isGateway: true,
    isDefaultGateway: true,
    forceAddress: true,
    // No ipam routes: isDefaultGateway adds the default route (Debian's bridge fails on a second one).
    ipam: { type: "host-local", ranges: [[{ subnet }]], dataDir: join(work, "leases") },
    ...extra,
  };
}

/** Whether this build's agent has the CNI service (its help lists --cni-socket). */
function agentServes(): boolean {
  try {
    return execFileSync(agentBin, ["--help"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).includes("--cni-socket");
  } catch (e) {
    return String((e as { stdout?: unknown }).stdout ?? "").includes("--cni-socket");
  }
}

function makeModes(): Mode[] {
  const wanted = arg("--modes", agentServes() ? "go,ours,ours-agent" : "go,ours").split(",");
  if (!wanted.includes("ours-agent")) process.stderr.write("bench-cni: without ours-agent (this kubenet-agent has no --cni-socket)\n");
  const out: Mode[] = [];
  const ours = (name: string, bin: string, i: number, extra: Record<string, unknown> = {}): Mode => ({
    name,
    loopback: join(bin, "..", "loopback"),
    network: bin,
    cniPath: join(bin, ".."),
    conf: bridgeConf(`bench-${name}`, "kubenet", `kbr${i}`, `10.${40 + i}.0.0/16`, extra),
  });
  if (wanted.includes("go")) out.push({ name: "go", loopback: join(GO, "loopback"), network: join(GO, "bridge"), cniPath: GO, conf: bridgeConf("bench-go", "bridge", "gobr0", "10.30.0.0/16") });
  if (wanted.includes("ours")) out.push(ours("ours", join(dist, "kubenet"), 0));
  if (wanted.includes("ours-agent")) {
    // The agent serves the network it renders (its bridge and PodCIDR); its conflist names the socket.
    const socket = "/run/kubenet/cni.sock"; // /run is a tmpfs of the bench sandbox
    out.push({ ...ours("ours-agent", join(dist, "kubenet"), 1, { agentSocket: socket }), startAgent: () => startAgent(agentBin, work, socket, "10.41.0.0/16", "kbr1") });
  }
  for (const v of args("--variant")) {
    const [name, bin] = v.split("=");
    if (name === undefined || bin === undefined) throw new Error(`--variant NAME=PATH, got ${JSON.stringify(v)}`);
    out.push(ours(name, resolve(bin), 2 + out.length));
  }
  return out;
}

const LOOPBACK_CONF = { cniVersion: "1.0.0", name: "cni-loopback", type: "loopback" };

/** Runs one plugin as a runtime does (clean env, config on stdin); resolves with stdout, rejects on failure. */
function invoke(bin: string, env: Record<string, string>, conf: unknown): Promise<string> {
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

/** Results of the ADDs, per (mode, pod): CHECK and DEL get them as prevResult, as libcni's cache does. */
const results = new Map<string, { lo: unknown; net: unknown }>();

async function chain(mode: Mode, op: Op, pod: string): Promise<void> {
  const env = { CNI_COMMAND: op, CNI_CONTAINERID: pod, CNI_NETNS: `/run/netns/${pod}`, CNI_PATH: mode.cniPath };
  const prev = results.get(`${mode.name}|${pod}`);
  const withPrev = (conf: object, r: unknown): object => (op === "ADD" || r === undefined ? conf : { ...conf, prevResult: r });
  const lo = await invoke(mode.loopback, { ...env, CNI_IFNAME: "lo" }, withPrev(LOOPBACK_CONF, prev?.lo));
  const net = await invoke(mode.network, { ...env, CNI_IFNAME: "eth0" }, withPrev(mode.conf, prev?.net));
  if (op === "ADD") results.set(`${mode.name}|${pod}`, { lo: JSON.parse(lo), net: JSON.parse(net) });
  if (op === "DEL") results.delete(`${mode.name}|${pod}`);
}

/** One phase: `op` for every pod with `c` at a time; adds the latencies and CPU to `cell`. */
async function phase(mode: Mode, op: Op, names: readonly string[], c: number, cell: Cell): Promise<void> {
  const cpu0 = cpuTimes("self").children;
  const agent0 = mode.agent !== undefined ? cpuTimes(mode.agent.pid).own : 0;
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
  if (mode.agent !== undefined) cell.agentCpuMs += cpuTimes(mode.agent.pid).own - agent0;
}

/** Runs `fn` with the mode's agent serving (started before, stopped after), or as is when it has none. */
async function withAgent(m: Mode, fn: () => Promise<void>): Promise<void> {
  if (m.startAgent === undefined) return fn();
  m.agent = m.startAgent();
  try {
    await m.agent.ready;
    await fn();
  } finally {
    await m.agent.stop();
    delete m.agent;
  }
}

/**
 * A node's agent runs for days: its service threads are started once, by the first burst. The bench starts it
 * afresh for each mode's phases, so before measuring it runs `c` pods through it at concurrency `c`, unmeasured
 * (the threads it starts then stay, as they do on a node).
 */
async function warmAgent(m: Mode, c: number, prefix: string): Promise<void> {
  if (m.agent === undefined) return;
  const names = Array.from({ length: c }, (_, i) => `${prefix}${m.name.replace(/[^a-z0-9]/g, "")}w${i}`);
  netns("add", names);
  try {
    for (const op of ["ADD", "DEL"] as const) await Promise.all(names.map((pod) => chain(m, op, pod)));
  } finally {
    netns("delete", names);
  }
}

function netns(verb: "add" | "delete", names: readonly string[]): void {
  execFileSync("ip", ["-batch", "-"], { input: names.map((n) => `netns ${verb} ${n}\n`).join("") });
}

async function main(): Promise<void> {
  if (process.env["KUBENET_BENCH_SANDBOX"] !== "1") throw new Error("run through scripts/bench.sh cni (it sets up the sandbox)");
  for (const bin of [join(GO, "bridge"), join(dist, "kubenet")]) if (!existsSync(bin)) throw new Error(`${bin} is missing (apt-get install containernetworking-plugins; npm run build)`);
  mkdirSync(join(work, "leases"), { recursive: true });
  const modes = makeModes();
  const cells = new Map<string, Cell>();
  const cell = (m: Mode, c: number, op: Op): Cell => {
    const k = `${m.name}|${c}|${op}`;
    if (!cells.has(k)) cells.set(k, newCell());
    return cells.get(k) as Cell;
  };
  try {
    // Warm-up: page cache, the native module cache, each bridge created once (not measured).
    const warm = modes.map((_, i) => `warmup${i}`);
    netns("add", warm);
    for (const [i, m] of modes.entries()) await withAgent(m, async () => {
      for (const op of OPS) await chain(m, op, warm[i] as string);
    });
    netns("delete", warm);
    for (let r = 0; r < rounds; r++) {
      for (const c of concurrencies) {
        // Interleaved: every mode in every round, in a rotating order, so drift in the machine's load hits all.
        for (let i = 0; i < modes.length; i++) {
          const m = modes[(i + r) % modes.length] as Mode;
          const names = Array.from({ length: pods }, (_, p) => `b${r}c${c}${m.name.replace(/[^a-z0-9]/g, "")}p${p}`);
          netns("add", names);
          await withAgent(m, async () => {
            await warmAgent(m, c, `w${r}c${c}`);
            for (const op of OPS) await phase(m, op, names, c, cell(m, c, op));
          });
          netns("delete", names);
        }
      }
      process.stderr.write(`round ${r + 1}/${rounds} done (load ${loadavg()[0]?.toFixed(1)})\n`);
    }
  } finally {
    for (const m of modes) await m.agent?.stop();
  }
  console.log(`\n${pods} pods x ${rounds} rounds per mode and concurrency; per pod = loopback + network, as containerd calls them; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
  console.log(renderTable(modes.map((m) => m.name), "go", concurrencies, cells));
  console.log("\nCPU per pod: user+sys of the plugin processes (and of the agent in ours-agent); pods/s: throughput of a whole phase.");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
