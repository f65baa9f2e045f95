// plugin/ipam/delegate: runs a delegated IPAM plugin (spec §"Delegation"): found in CNI_PATH, exec'd with
// the same environment (CNI_COMMAND set to the operation) and the complete same stdin; its stderr goes to
// ours; its stdout is a Result (ADD) or an error JSON whose code we keep. Synchronous (spawnSync).

import type * as ChildProcess from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { CNI_ERROR_CODE, CniError, foreignCode, q } from "../../core/cni/errors.js";
import type { NetConf } from "../../core/cni/netconf.js";
import { decodeVersionedResult, type Result } from "../../core/cni/result.js";
import type { PluginContext } from "../types.js";

type ChildProcessModule = typeof ChildProcess;
let childProcess: ChildProcessModule | undefined;

/**
 * node:child_process is loaded on first use: it pulls in net, dgram and the stream machinery (several ms
 * at every start-up), and only a delegated IPAM needs it. (`require` exists in the CommonJS bundle; the
 * ES-module test runs fall back to createRequire.)
 */
function spawnSync(...args: Parameters<ChildProcessModule["spawnSync"]>): ReturnType<ChildProcessModule["spawnSync"]> {
  const req = typeof require === "function" ? require : createRequire(join(process.cwd(), "noop.js"));
  childProcess ??= req("node:child_process") as ChildProcessModule;
  return childProcess.spawnSync(...args);
}

/** How long a delegate may run before we kill it and fail with 106. */
const DELEGATE_TIMEOUT_MS = 120_000;

export interface DelegateCall {
  readonly type: string;
  readonly command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS";
  readonly conf: NetConf;
  readonly cniPath: readonly string[];
  readonly ctx: PluginContext;
}

/** The first executable file named `type` in CNI_PATH. @throws CniError 7 when there is none */
function findInPath(type: string, cniPath: readonly string[]): string {
  if (cniPath.length === 0) {
    throw new CniError(
      CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES,
      `CNI_PATH is empty: cannot find the IPAM plugin ${q(type)}; the runtime must set CNI_PATH to the plugin directory (e.g. /opt/cni/bin)`,
    );
  }
  for (const dir of cniPath) {
    const p = join(dir, type);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `failed to find IPAM plugin ${q(type)} in CNI_PATH ${q(cniPath.join(":"))}`);
}

function failed(call: DelegateCall, msg: string, details?: string): CniError {
  return new CniError(CNI_ERROR_CODE.DELEGATE_FAILED, `IPAM plugin ${q(call.type)} ${call.command} ${msg}`, { details });
}

/** Runs the delegate; returns its stdout on success. Propagates its CNI error (code kept). */
function run(call: DelegateCall): string {
  const bin = findInPath(call.type, call.cniPath);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.ctx.env)) if (v !== undefined) env[k] = v;
  env["CNI_COMMAND"] = call.command;
  call.ctx.log.debug("exec delegate", { bin, command: call.command });
  const r = spawnSync(bin, [], {
    env,
    input: call.ctx.stdinBytes,
    stdio: ["pipe", "pipe", "inherit"],
    maxBuffer: 16 * 1024 * 1024,
    timeout: DELEGATE_TIMEOUT_MS,
    killSignal: "SIGKILL",
  });
  if (r.error && r.status === null) {
    throw failed(call, `could not run ${q(bin)}: ${r.error.message}`);
  }
  const stdout = r.stdout.toString("utf8");
  if (r.status === 0) return stdout;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === "object" && parsed !== null) {
    const o = parsed as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof o.code === "number" && Number.isInteger(o.code) && o.code > 0) {
      const msg = typeof o.msg === "string" ? o.msg : "failed";
      // The delegate's code is the truth (e.g. 11 try again); the message says who failed.
      throw new CniError(foreignCode(o.code), `IPAM plugin ${q(call.type)}: ${msg}`, { details: typeof o.details === "string" ? o.details : undefined });
    }
  }
  const how = r.signal ? `was killed by ${r.signal}${r.signal === "SIGKILL" ? ` (timeout ${DELEGATE_TIMEOUT_MS} ms?)` : ""}` : `exited with status ${r.status}`;
  throw failed(call, `${how} without a CNI error on stdout`, stdout.trim() === "" ? undefined : stdout.trim().slice(0, 2000));
}

export function delegateAdd(call: Omit<DelegateCall, "command">): Result {
  const c: DelegateCall = { ...call, command: "ADD" };
  const stdout = run(c);
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw failed(c, `printed a result that is not JSON`, stdout.trim().slice(0, 2000));
  }
  try {
    return decodeVersionedResult(json, call.conf.cniVersion, `IPAM plugin ${q(call.type)} result`);
  } catch (e) {
    if (e instanceof CniError) throw failed(c, `printed an invalid result: ${e.message}`);
    throw e;
  }
}

export function delegateRun(call: DelegateCall): void {
  run(call);
}
