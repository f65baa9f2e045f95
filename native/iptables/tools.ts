// native/iptables/tools: the one way the project runs the xtables tools (iptables-save, iptables-restore,
// also modprobe for the agent): a child process with stdin, collected output, a deadline and an output cap.
// Async. node:child_process (~3 ms) loads on the first call, synchronously, so the plugin's start-up stays
// lean and a tool starts the moment it is asked for (it runs while the caller does its netlink work).
// Their ruleset encoding is theirs to own, so rules are not written through nf_tables netlink directly.

import type * as NodeChildProcess from "node:child_process";
import { createRequire } from "node:module";
import type * as NodeNet from "node:net";
import type * as NodeOs from "node:os";
import { join } from "node:path";
import type { IpFamily } from "../../core/ip.js";
import { reapNoHang, spawnPiped, type SpawnedChild } from "../ffi/spawn.js";

export interface ToolResult {
  /** Exit status, or null when the process was killed (deadline, output cap). */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Killed because the deadline passed. */
  readonly timedOut: boolean;
}

export interface ToolOptions {
  readonly input?: string | undefined;
  /** The child's environment (PATH picks the tool); omitted = this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  /** Output beyond this many bytes kills the child; default 64 MiB. */
  readonly maxOutputBytes?: number;
}

type ChildProcess = typeof NodeChildProcess;
let childProcess: ChildProcess | undefined;
// `require` in the CommonJS bundle; createRequire in in-process (ES module) test runs.
const requireNow: NodeJS.Require = typeof require === "function" ? require : createRequire(join(process.cwd(), "noop.js"));
const loadChildProcess = (): ChildProcess => (childProcess ??= requireNow("node:child_process") as ChildProcess);
let net: typeof NodeNet | undefined;
const loadNet = (): typeof NodeNet => (net ??= requireNow("node:net") as typeof NodeNet);

const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;

function envOf(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Runs `file` (looked up in PATH) with `input` on stdin; resolves with its status and output, also when it
 * exits non-zero or is killed. The process has started when this returns. Rejects only when it cannot start
 * (the spawn error, e.g. code ENOENT: not installed). Under Node through posix_spawn (native/ffi/spawn.ts: no
 * fork of this process); under Bun through its child_process, which already spawns without forking.
 */
export function runTool(file: string, args: readonly string[], options: ToolOptions): Promise<ToolResult> {
  if (process.versions.bun === undefined) return runSpawned(file, args, options);
  const cp = loadChildProcess();
  const env = options.env === undefined ? undefined : envOf(options.env);
  return new Promise((resolve, reject) => {
    const child = cp.spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const io = collector(options, () => child.kill("SIGKILL"));
    child.stdout.on("data", io.collect(io.out));
    child.stderr.on("data", io.collect(io.err));
    child.stdin.on("error", () => undefined); // EPIPE: it exited before reading; its status says why
    child.on("error", (e) => {
      clearTimeout(io.timer);
      reject(e);
    });
    child.on("close", (status, signal) => resolve(io.result(status, signal)));
    child.stdin.end(options.input ?? "");
  });
}

/** Output collection, the output cap and the deadline, the same for both ways of running a tool. */
function collector(options: ToolOptions, kill: () => void) {
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs);
  return {
    out,
    err,
    timer,
    collect: (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) kill();
      else into.push(chunk);
    },
    result: (status: number | null, signal: NodeJS.Signals | null): ToolResult => {
      clearTimeout(timer);
      return { status, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), timedOut };
    },
  };
}

function signalName(n: number): NodeJS.Signals | null {
  const { constants } = requireNow("node:os") as typeof NodeOs;
  return (Object.entries(constants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined) ?? null;
}

/** runTool under Node: posix_spawn, the pipes as libuv streams, the exit status reaped once both outputs closed. */
function runSpawned(file: string, args: readonly string[], options: ToolOptions): Promise<ToolResult> {
  let child: SpawnedChild;
  try {
    child = spawnPiped(file, [file, ...args], envOf(options.env ?? process.env));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  const { Socket } = loadNet();
  let reaped = false;
  const io = collector(options, () => {
    if (!reaped) process.kill(child.pid, "SIGKILL");
  });
  return new Promise((resolve) => {
    let open = 2;
    const reap = (delayMs: number): void => {
      const done = reapNoHang(child.pid);
      if (done === undefined) {
        // Both pipes closed: it is exiting; poll briefly instead of blocking this thread in waitpid.
        setTimeout(() => reap(Math.min(delayMs * 2, 50)), delayMs);
        return;
      }
      reaped = true;
      resolve(io.result(done.status, done.signal === null ? null : signalName(done.signal)));
    };
    const closed = (): void => {
      if (--open === 0) reap(1);
    };
    for (const [fd, into] of [[child.stdout, io.out], [child.stderr, io.err]] as const) {
      const s = new Socket({ fd, readable: true, writable: false });
      s.on("data", io.collect(into));
      s.on("error", () => undefined); // a read error ends the stream like EOF; the status says the rest
      s.on("close", closed);
    }
    const stdin = new Socket({ fd: child.stdin, readable: false, writable: true });
    stdin.on("error", () => undefined); // EPIPE: it exited before reading; its status says why
    stdin.end(options.input ?? "");
  });
}

/** "legacy" / "nft": the explicit variants (iptables-legacy-*, iptables-nft-*); "plain": whatever `iptables` is. */
export type IptablesMode = "legacy" | "nft" | "plain";

/** The program name of a tool of a family and mode: ("restore", 6, "nft") => "ip6tables-nft-restore". */
export function iptablesCommand(tool: "" | "save" | "restore", family: IpFamily, mode: IptablesMode = "plain"): string {
  const base = family === 4 ? "iptables" : "ip6tables";
  const variant = mode === "plain" ? "" : `-${mode}`;
  return `${base}${variant}${tool === "" ? "" : `-${tool}`}`;
}

/**
 * The arguments of one atomic `iptables-restore`: --noflush keeps every chain the payload does not declare;
 * `--wait=N` (attached: the seconds are an optional argument, which getopt only takes in that form) waits
 * for a held xtables lock (legacy backend) instead of failing at once.
 */
export const restoreArgs = (lockWaitSeconds: number): string[] => ["--noflush", `--wait=${lockWaitSeconds}`];

/** stderr of an xtables tool that gave up waiting for the xtables lock ("Another app is currently holding the xtables lock"). */
export const XTABLES_LOCK_HELD_RE = /xtables lock/i;
/** stderr saying the table cannot exist in this kernel (no module, family unsupported): nothing is there. */
export const NO_TABLE_RE = /table does not exist|can't initialize|cannot initialize|address family not supported|protocol not supported/i;
