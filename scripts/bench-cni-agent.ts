// scripts/bench-cni-agent: the agent for bench-cni's "ours-agent" mode: `kubenet-agent run` with a static
// PodCIDR and its CNI service on a socket in the bench's work dir (inside the bench sandbox), until stopped;
// and a bench's rounds with each mode's agent (runRoundsWithAgents: shared by bench-cni and bench-hostport).

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Cell } from "./bench-cni-stats.js";
import { netns, runRounds, type Rounds } from "./bench-cni-driver.js";

export interface Agent {
  readonly pid: number;
  /** Resolves once the CNI socket exists; rejects when the agent exits first. */
  readonly ready: Promise<void>;
  /** SIGTERM, resolved once it exited (it removes its socket on the way out). */
  stop(): Promise<void>;
}

export function startAgent(agentBin: string, work: string, socket: string, podCidr: string, bridge: string): Agent {
  const argv = [
    "run",
    "--static-pod-cidr", podCidr,
    "--cluster-cidr", podCidr,
    "--bridge", bridge,
    "--cni-socket", socket,
    "--cni-conf-dir", join(work, "net.d"),
    "--ipam-data-dir", join(work, "leases"),
    "--masq-config", "",
    "--listen", "off",
    "--log-level", "warn",
  ];
  const child = spawn(agentBin, argv, { env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, stdio: ["ignore", "inherit", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
    process.stderr.write(b);
  });
  const ready = new Promise<void>((done, fail) => {
    const poll = setInterval(() => {
      if (existsSync(socket)) {
        clearInterval(poll);
        done();
      }
    }, 20);
    child.on("exit", (code) => {
      clearInterval(poll);
      fail(new Error(`kubenet-agent exited (${code}) before serving ${socket}: ${stderr.trim().split("\n").slice(-3).join(" ")}`));
    });
  });
  ready.catch(() => undefined); // awaited by the caller; this only keeps an early exit from counting as unhandled
  if (child.pid === undefined) throw new Error("kubenet-agent did not start");
  return {
    pid: child.pid,
    ready,
    stop: () =>
      new Promise<void>((done) => {
        child.removeAllListeners("exit");
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

/** A bench mode that may need the agent: started for its own phases only (the other modes run without it). */
export interface AgentMode {
  readonly name: string;
  readonly startAgent?: () => Agent;
  agent?: Agent;
}

/** Runs `fn` with the mode's agent serving (started before, stopped after), or as is when it has none. */
async function withAgent(m: AgentMode, fn: () => Promise<void>): Promise<void> {
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
 * A node's agent runs for days: its service threads are started once, by the first burst. A bench starts it
 * afresh for each mode's phases, so before measuring it runs `c` pods through it at concurrency `c` (ADD, then
 * DEL), unmeasured: the threads it starts then stay, as they do on a node. `chain` wires one pod.
 */
async function warmAgent(m: AgentMode, c: number, prefix: string, chain: (op: "ADD" | "DEL", pod: string) => Promise<void>): Promise<void> {
  if (m.agent === undefined) return;
  const names = Array.from({ length: c }, (_, i) => `${prefix}${m.name.replace(/[^a-z0-9]/g, "")}w${i}`);
  netns("add", names);
  try {
    for (const op of ["ADD", "DEL"] as const) await Promise.all(names.map((pod) => chain(op, pod)));
  } finally {
    netns("delete", names);
  }
}

/**
 * runRounds with each mode's agent (if it has one) serving that mode's phases, warmed before each measured phase,
 * its CPU counted with the mode's, and stopped at the end whatever happens.
 */
export async function runRoundsWithAgents<M extends AgentMode>(b: Omit<Rounds<M>, "agentPid" | "around">): Promise<Map<string, Cell>> {
  try {
    return await runRounds({
      ...b,
      agentPid: (m) => m.agent?.pid,
      around: (m, body, round) =>
        withAgent(m, async () => {
          if (round !== undefined) await warmAgent(m, round.c, `w${round.r}c${round.c}`, (op, pod) => b.chain(m, op, pod));
          await body();
        }),
    });
  } finally {
    for (const m of b.modes) await m.agent?.stop();
  }
}
