// test/agent/agent-harness: runs the built agent (dist/kubenet-agent) inside a test namespace, exactly as a
// node would run it: `--once` runs return the JSON report; long-running agents are spawned through
// `nsenter --net` (which execs in place, so the PID we hold is the agent's) and stopped by that PID.
// Their /metrics and /healthz are read with curl from inside the same namespace.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SyncReport } from "../../agent/sync/report.js";
import type { Teardownable, TestNetns } from "../support/netns.js";
import { DIST } from "../support/plugin-harness.js";

export const AGENT_BIN = join(DIST, "kubenet-agent");

export function tempDir(t: Teardownable, prefix = "kt-agent-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface OnceRun {
  readonly code: number | null;
  readonly report: SyncReport;
  readonly stderr: string;
}

export function runAgentOnce(ns: TestNetns, args: readonly string[]): OnceRun {
  const r = ns.run(process.execPath, [AGENT_BIN, "run", "--once", ...args]);
  let report: SyncReport;
  try {
    report = JSON.parse(r.stdout) as SyncReport;
  } catch {
    throw new Error(`kubenet-agent --once printed no report (exit ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  return { code: r.status, report, stderr: r.stderr };
}

export interface RunningAgent {
  readonly pid: number;
  readonly port: number;
  /** Everything the agent logged so far (JSON lines). */
  logs(): string;
  metrics(): string;
  /** A counter or gauge from /metrics (summed over labels when `labels` is omitted). */
  metric(name: string, labels?: string): number;
  healthz(): { status: number; body: unknown };
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `kubenet-agent run ARGS --listen 127.0.0.1:PORT` inside `ns`; killed at teardown if still running. */
export function startAgent(t: Teardownable, ns: TestNetns, args: readonly string[], port = 9970): RunningAgent {
  // No CNI service unless a test asks for one (with its own socket path).
  const cni = args.some((a) => a.startsWith("--cni-socket")) ? [] : ["--cni-socket", "off"];
  const child: ChildProcess = spawn("nsenter", [`--net=${ns.path}`, "--", process.execPath, AGENT_BIN, "run", "--listen", `127.0.0.1:${port}`, ...cni, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout?.on("data", (b: Buffer) => (log += b.toString("utf8")));
  child.stderr?.on("data", (b: Buffer) => (log += b.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  let running = true;
  void exited.then(() => (running = false));
  const pid = child.pid;
  if (pid === undefined) throw new Error("cannot start kubenet-agent");
  t.teardown(async () => {
    if (running) {
      process.kill(pid, "SIGKILL");
      await exited;
    }
  });
  const curl = (path: string): { status: number; body: string } => {
    const r = ns.run("curl", ["-s", "-m", "5", "-w", "\n%{http_code}", `http://127.0.0.1:${port}${path}`]);
    const i = r.stdout.lastIndexOf("\n");
    return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  };
  const agent: RunningAgent = {
    pid,
    port,
    exited,
    logs: () => log,
    metrics: () => curl("/metrics").body,
    metric(name, labels) {
      let sum = 0;
      for (const line of agent.metrics().split("\n")) {
        if (line.startsWith("#")) continue;
        const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
        if (m === null || m[1] !== name) continue;
        if (labels !== undefined && m[2] !== `{${labels}}`) continue;
        sum += Number(m[3]);
      }
      return sum;
    },
    healthz() {
      const r = curl("/healthz");
      return { status: r.status, body: r.body === "" ? undefined : (JSON.parse(r.body) as unknown) };
    },
    async stop() {
      if (running) process.kill(pid, "SIGTERM");
      return exited;
    },
  };
  return agent;
}

/**
 * Polls `cond` every 25 ms until it holds; returns the elapsed ms. Throws after `timeoutMs`: a limit for a
 * stuck test, not a latency check (a loaded 2-core machine can take tens of seconds for what usually takes
 * 100 ms), so it is generous; it costs nothing when the condition comes quickly.
 */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 180_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    let ok = false;
    try {
      ok = cond();
    } catch {
      ok = false;
    }
    if (ok) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The nat table rules ("-A ..." lines) and chain names inside `ns`. */
export function natTable(ns: TestNetns, options: { family?: 4 | 6; mode?: "nft" | "legacy" } = {}): { chains: string[]; rules: string[] } {
  const tool = `${options.family === 6 ? "ip6tables" : "iptables"}-${options.mode ?? "nft"}-save`;
  const text = ns.exec(tool, options.mode === "legacy" ? [] : ["-t", "nat"]);
  const chains: string[] = [];
  const rules: string[] = [];
  let inNat = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) inNat = line === "*nat";
    else if (!inNat) continue;
    else if (line.startsWith(":")) chains.push(line.slice(1).split(" ")[0] ?? "");
    else if (line.startsWith("-A ")) rules.push(line);
  }
  return { chains, rules };
}

export function sysctl(ns: TestNetns, name: string): string {
  return ns.exec("cat", [`/proc/sys/${name.replace(/\./g, "/")}`]).trim();
}

const ECHO_SERVER = `
const net = require("node:net");
net.createServer((s) => s.end(s.remoteAddress + "\\n")).listen(8080, "0.0.0.0", () => console.log("ready"));
`;
const ECHO_CLIENT = `
const net = require("node:net");
const s = net.connect({ host: process.argv[1], port: 8080, timeout: 5000 });
let data = "";
s.on("data", (d) => (data += d));
s.on("end", () => { console.log(data.trim()); process.exit(0); });
s.on("timeout", () => { console.error("timeout"); process.exit(2); });
s.on("error", (e) => { console.error(e.message); process.exit(3); });
`;

/** A TCP server on :8080 in `ns` answering every connection with the peer address it sees; killed at teardown. */
export function startEchoServer(t: Teardownable, ns: TestNetns): Promise<number> {
  const server = spawn("nsenter", [`--net=${ns.path}`, "--", process.execPath, "-e", ECHO_SERVER], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  server.stdout.on("data", (b: Buffer) => (out += b.toString()));
  t.teardown(() => {
    if (server.exitCode === null && server.pid !== undefined) process.kill(server.pid, "SIGKILL");
  });
  return waitFor("echo server ready", () => out.includes("ready"));
}

/** Connects from `from` to <host>:8080 and returns the peer address the echo server saw. */
export function peerSeen(from: TestNetns, host: string): string {
  const r = from.run(process.execPath, ["-e", ECHO_CLIENT, host]);
  if (r.status !== 0) throw new Error(`connect ${from.name} -> ${host}:8080 failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}
