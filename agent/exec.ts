// agent/exec: running helper programs (iptables-save/-restore, modprobe) with a timeout. The agent talks to
// the kernel through native/ for links and sysctls; only the xtables tools are exec'd, because their
// ruleset encoding is theirs to own. Async; every call has a deadline.

import { runTool } from "../native/index.js";

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

class ExecError extends Error {
  override readonly name = "ExecError";
  readonly result: ExecResult;
  constructor(message: string, result: ExecResult) {
    super(message);
    this.result = result;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Through native's one spawn helper (runTool): same deadline and output cap as the plugin's tools. */
export const execFile: ExecFn = async (file, args, options = {}) => {
  const r = await runTool(file, args, { input: options.input, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Resolves with stdout when the program exits 0; rejects with ExecError quoting its stderr otherwise. */
export async function execChecked(exec: ExecFn, file: string, args: readonly string[], options?: ExecOptions): Promise<string> {
  const r = await exec(file, args, options);
  if (r.code !== 0) {
    const how = r.code === null ? "was killed (timeout)" : `exited with ${r.code}`;
    throw new ExecError(`Command "${[file, ...args].join(" ")}" ${how}: ${r.stderr.trim() || "no error output"}`, r);
  }
  return r.stdout;
}
