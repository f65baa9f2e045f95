// agent/exec: running helper programs (iptables-save/-restore, modprobe) with a timeout. The agent talks to
// the kernel through native/ for links and sysctls; only the xtables tools are exec'd, because their
// ruleset encoding is theirs to own. Async; every call has a deadline.

import { spawn } from "node:child_process";

export interface ExecResult {
  /** Exit code, or null when killed (timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
}

/**
 * Runs a program and resolves with its exit code and output, also when it exits non-zero.
 * Rejects only when it cannot be started (e.g. ENOENT: not installed).
 */
export type ExecFn = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

export class ExecError extends Error {
  override readonly name = "ExecError";
  readonly result: ExecResult;
  constructor(message: string, result: ExecResult) {
    super(message);
    this.result = result;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

export const execFile: ExecFn = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) child.kill("SIGKILL");
      else into.push(chunk);
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    // A program that exits before reading its stdin must not crash us with EPIPE.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });

/** Resolves with stdout when the program exits 0; rejects with ExecError quoting its stderr otherwise. */
export async function execChecked(exec: ExecFn, file: string, args: readonly string[], options?: ExecOptions): Promise<string> {
  const r = await exec(file, args, options);
  if (r.code !== 0) {
    const how = r.code === null ? "was killed (timeout)" : `exited with ${r.code}`;
    throw new ExecError(`Command "${[file, ...args].join(" ")}" ${how}: ${r.stderr.trim() || "no error output"}`, r);
  }
  return r.stdout;
}
