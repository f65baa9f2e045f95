// plugin/bridge/xtables: the plugin's reads and writes of the nat table (ipMasq, hostPort) through the iptables
// tools found on the runtime's PATH (whatever backend the system's alternatives point at: legacy or nft), as
// the reference plugins do. Async (child processes, native's runTool); never runs under the IPAM lock.
// Per family and command: one `iptables-save -t nat` read, then at most one `iptables-restore --noflush`.
// Failures become CNI errors: 11 when the xtables lock stays held, 111 for anything else iptables says.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { IpFamily } from "../../core/ip.js";
import type { NetConf } from "../../core/cni/netconf.js";
import {
  NO_TABLE_RE,
  XTABLES_LOCK_HELD_RE,
  emptyTable,
  iptablesCommand,
  parseIptablesSave,
  restoreArgs,
  runTool,
  type SavedTable,
  type ToolResult,
} from "../../native/index.js";
import type { Logger, PluginContext } from "../types.js";

export interface XtablesContext {
  /** The plugin's environment (PATH picks the iptables tools, as for the reference plugins). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** iptables-restore --wait: how long to wait for the xtables lock (legacy backend) before code 11. */
  readonly lockWaitSeconds: number;
  /** What needs the tools, for the "not found" message (e.g. `"ipMasq": true`). */
  readonly feature?: string;
}

const NAT_TABLE = "nat";
export const FAMILIES: readonly IpFamily[] = [4, 6];
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The hex SHA-512 of network name + container ID, which the reference plugins cut into their per-container
 * chain names (CNI-<hash>, CNI-DN-<hash>). node:crypto loads on first use only: a pod with neither ipMasq nor
 * host ports never pays for it.
 */
export function ownerDigest(network: string, containerId: string): string {
  const { createHash } = process.getBuiltinModule("node:crypto");
  return createHash("sha512").update(network + containerId).digest("hex");
}

/**
 * The context for a config: the xtables lock gets the same budget as the IPAM lock (`lockTimeoutMs`,
 * rounded up to whole seconds: iptables waits in seconds).
 */
export function xtablesContextOf(conf: NetConf, ctx: PluginContext, feature?: string): XtablesContext {
  const lockWaitSeconds = Math.max(1, Math.ceil(conf.lockTimeoutMs / 1000));
  return feature === undefined ? { env: ctx.env, log: ctx.log, lockWaitSeconds } : { env: ctx.env, log: ctx.log, lockWaitSeconds, feature };
}

/** Runs a tool; the process has started when this returns. Rejects only when it cannot start (CniError 111). */
function run(xc: XtablesContext, file: string, args: readonly string[], input?: string): Promise<ToolResult> {
  const env = { ...xc.env, PATH: xc.env["PATH"] ?? DEFAULT_PATH };
  return runTool(file, args, { env, input, timeoutMs: (xc.lockWaitSeconds + 10) * 1000 }).catch((e: NodeJS.ErrnoException) => {
    const needs = xc.feature ?? "this configuration";
    throw e.code === "ENOENT"
      ? new CniError(
          CNI_ERROR_CODE.IPTABLES_FAILED,
          `${q(file)} was not found in PATH ${q(env.PATH)}: ${needs} needs the iptables tools (Debian/Ubuntu package "iptables") on the runtime's PATH`,
          { cause: e },
        )
      : new CniError(CNI_ERROR_CODE.IPTABLES_FAILED, `could not run ${q(file)}: ${e.message}`, { cause: e });
  });
}

function failure(xc: XtablesContext, file: string, what: string, r: ToolResult, payload?: string): CniError {
  const stderr = r.stderr.trim();
  if (r.timedOut) {
    return new CniError(
      CNI_ERROR_CODE.TRY_AGAIN_LATER,
      `${what}: ${file} did not finish within ${xc.lockWaitSeconds + 10} s (another program holds the xtables lock or iptables is stuck); try again`,
    );
  }
  if (XTABLES_LOCK_HELD_RE.test(stderr)) {
    return new CniError(
      CNI_ERROR_CODE.TRY_AGAIN_LATER,
      `${what}: the xtables lock stayed held for ${xc.lockWaitSeconds} s (another program is changing iptables: kube-proxy, a firewall); try again`,
      { details: stderr },
    );
  }
  const how = r.signal !== null ? `was killed by ${r.signal}` : `exited with status ${r.status}`;
  const first = stderr.split("\n")[0] ?? "";
  return new CniError(CNI_ERROR_CODE.IPTABLES_FAILED, `${what}: ${file} ${how}${first === "" ? "" : `: ${first}`}`, {
    details: payload === undefined ? stderr : `${stderr}\n--- iptables-restore input ---\n${payload}`,
  });
}

/**
 * `iptables-save -t nat` of one family, parsed; `tolerant`: a missing tool or table reads as empty.
 * The tool is started before this returns (not after a microtask), so it overlaps the caller's work.
 */
export function readNat(xc: XtablesContext, family: IpFamily, what: string, tolerant: boolean): Promise<SavedTable> {
  const file = iptablesCommand("save", family);
  return run(xc, file, ["-t", NAT_TABLE]).then(
    (r) => {
      if (r.status !== 0) {
        if (tolerant && NO_TABLE_RE.test(r.stderr)) return emptyTable(NAT_TABLE);
        throw failure(xc, file, what, r);
      }
      return parseIptablesSave(r.stdout, NAT_TABLE);
    },
    (err: unknown) => {
      if (tolerant && err instanceof CniError) {
        xc.log.warn(`${what}: ${err.message}; assuming nothing to remove`);
        return emptyTable(NAT_TABLE);
      }
      throw err;
    },
  );
}

/** One atomic `iptables-restore --noflush --wait=N` of `payload`. */
export async function restoreNat(xc: XtablesContext, family: IpFamily, what: string, payload: string): Promise<void> {
  const file = iptablesCommand("restore", family);
  const r = await run(xc, file, restoreArgs(xc.lockWaitSeconds), payload);
  if (r.status !== 0) throw failure(xc, file, what, r, payload);
  xc.log.debug(`${file} applied`, { payload });
}
