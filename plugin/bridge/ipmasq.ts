// plugin/bridge/ipmasq: "ipMasq": true, the reference bridge plugin's per-container SNAT (layout in
// ipmasq-rules.ts), applied with the iptables tools found on the runtime's PATH (whatever backend the
// system's alternatives point at: legacy or nft). Async (child processes); never runs under the IPAM lock.
// Per family: one `iptables-save -t nat` read, then at most one `iptables-restore --noflush` transaction.
// node:child_process (~3 ms) loads only when a config asks for ipMasq (start-up stays lean); the
// tools start synchronously when a function is called, so they run while the caller does netlink work.
// Failures: 11 when the xtables lock stays held, 111 for anything else iptables says.

import type * as NodeChildProcess from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { IpFamily, IpNet } from "../../core/ip.js";
import type { NetConf } from "../../core/cni/netconf.js";
import type { Logger, PluginContext } from "../types.js";
import {
  MASQ_TABLE,
  chainNameFromDigest,
  formatComment,
  masqRuleSet,
  missingFrom,
  parseNatSave,
  renderSetup,
  renderTeardown,
  staleChains,
  type NatTable,
} from "./ipmasq-rules.js";

export interface MasqContext {
  /** The plugin's environment (PATH picks the iptables tools, as for the reference plugin). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** iptables-restore --wait: how long to wait for the xtables lock (legacy backend) before code 11. */
  readonly lockWaitSeconds: number;
}

/** The attachment a chain belongs to. The reference keys it by network and container (not ifname). */
export interface MasqOwner {
  readonly network: string;
  readonly containerId: string;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const FAMILIES: readonly IpFamily[] = [4, 6];

type ChildProcess = typeof NodeChildProcess;
let childProcess: ChildProcess | undefined;

// Loaded on first use, synchronously, so that a command's iptables tools start the moment it asks for them
// and run while its netlink work proceeds. `require` in the CommonJS bundle; createRequire in in-process
// (ES module) test runs. (node:module is loaded by Node itself either way.)
const requireNow: NodeJS.Require = typeof require === "function" ? require : createRequire(join(process.cwd(), "noop.js"));
const loadChildProcess = (): ChildProcess => (childProcess ??= requireNow("node:child_process") as ChildProcess);

/** The chain name of (network, containerID): "CNI-" + the first 24 hex digits of sha512(network + id). */
export function masqChainName(network: string, containerId: string): string {
  // node:crypto on first use only: a pod without ipMasq (kubenet's default) never loads it.
  const { createHash } = process.getBuiltinModule("node:crypto");
  return chainNameFromDigest(createHash("sha512").update(network + containerId).digest("hex"));
}

/**
 * The context for a config: the xtables lock gets the same budget as the IPAM lock (`lockTimeoutMs`,
 * rounded up to whole seconds: iptables waits in seconds).
 */
export function masqContextOf(conf: NetConf, ctx: PluginContext): MasqContext {
  return { env: ctx.env, log: ctx.log, lockWaitSeconds: Math.max(1, Math.ceil(conf.lockTimeoutMs / 1000)) };
}

export const masqOwnerOf = (req: { readonly conf: NetConf; readonly containerId: string }): MasqOwner => ({
  network: req.conf.name,
  containerId: req.containerId,
});

interface Exec {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

const tool = (family: IpFamily, suffix: "-save" | "-restore"): string => `${family === 4 ? "iptables" : "ip6tables"}${suffix}`;

function envOf(mc: MasqContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(mc.env)) if (v !== undefined) env[k] = v;
  env["PATH"] ??= DEFAULT_PATH;
  return env;
}

/**
 * Runs `file` (looked up in the env's PATH) with `input` on stdin. The process starts before this returns.
 * Rejects only when it cannot start (CniError 111).
 */
function run(mc: MasqContext, file: string, args: readonly string[], input?: string): Promise<Exec> {
  const cp = loadChildProcess();
  const env = envOf(mc);
  const limitMs = (mc.lockWaitSeconds + 10) * 1000;
  return new Promise((resolve, reject) => {
    const child = cp.spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => undefined); // EPIPE: it exited early; its status says why
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === "ENOENT"
          ? new CniError(
              CNI_ERROR_CODE.IPTABLES_FAILED,
              `${q(file)} was not found in PATH ${q(env["PATH"])}: "ipMasq": true needs the iptables tools (Debian/Ubuntu package "iptables") on the runtime's PATH`,
              { cause: e },
            )
          : new CniError(CNI_ERROR_CODE.IPTABLES_FAILED, `could not run ${q(file)}: ${e.message}`, { cause: e }),
      );
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), timedOut });
    });
    child.stdin.end(input ?? "");
  });
}

const LOCK_HELD_RE = /holding the xtables lock|xtables lock/i;
/** The table cannot exist in this kernel (no module, family unsupported): nothing of ours can be there. */
const NO_TABLE_RE = /table does not exist|can't initialize|cannot initialize|address family not supported|protocol not supported/i;

function failure(mc: MasqContext, file: string, what: string, r: Exec, payload?: string): CniError {
  const stderr = r.stderr.trim();
  if (r.timedOut) {
    return new CniError(
      CNI_ERROR_CODE.TRY_AGAIN_LATER,
      `${what}: ${file} did not finish within ${mc.lockWaitSeconds + 10} s (another program holds the xtables lock or iptables is stuck); try again`,
    );
  }
  if (LOCK_HELD_RE.test(stderr)) {
    return new CniError(
      CNI_ERROR_CODE.TRY_AGAIN_LATER,
      `${what}: the xtables lock stayed held for ${mc.lockWaitSeconds} s (another program is changing iptables: kube-proxy, a firewall); try again`,
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
function readNat(mc: MasqContext, family: IpFamily, what: string, tolerant: boolean): Promise<NatTable> {
  const file = tool(family, "-save");
  return run(mc, file, ["-t", MASQ_TABLE]).then(
    (r) => {
      if (r.status !== 0) {
        if (tolerant && NO_TABLE_RE.test(r.stderr)) return { chains: new Set<string>(), rules: [] };
        throw failure(mc, file, what, r);
      }
      try {
        return parseNatSave(r.stdout);
      } catch (err) {
        throw new CniError(CNI_ERROR_CODE.IPTABLES_FAILED, `${what}: could not read ${file} output: ${(err as Error).message}`);
      }
    },
    (err: unknown) => {
      if (tolerant && err instanceof CniError) {
        mc.log.warn(`${what}: ${err.message}; assuming nothing to remove`);
        return { chains: new Set<string>(), rules: [] };
      }
      throw err;
    },
  );
}

async function restore(mc: MasqContext, family: IpFamily, what: string, payload: string): Promise<void> {
  const file = tool(family, "-restore");
  // `--wait=N`, attached: the seconds are an optional argument, which getopt only takes in that form.
  const r = await run(mc, file, ["--noflush", `--wait=${mc.lockWaitSeconds}`], payload);
  if (r.status !== 0) throw failure(mc, file, what, r, payload);
  mc.log.debug(`${file} applied`, { payload });
}

const familiesOf = (addrs: readonly IpNet[]): IpFamily[] => FAMILIES.filter((f) => addrs.some((a) => a.addr.family === f));

/**
 * ADD: the chain with its rules and one POSTROUTING jump per pod address, per family, in one
 * iptables-restore transaction each (families in parallel). A jump that already exists is not added twice;
 * jumps of this chain for other addresses (a crashed earlier attempt) are removed in the same transaction.
 */
export async function setupIpMasq(mc: MasqContext, owner: MasqOwner, addrs: readonly IpNet[]): Promise<void> {
  const chain = masqChainName(owner.network, owner.containerId);
  const comment = formatComment(owner.network, owner.containerId);
  const what = `could not set up masquerading (ipMasq) for ${q(owner.containerId)}`;
  await Promise.all(
    familiesOf(addrs).map((family) =>
      readNat(mc, family, what, false).then((table) => restore(mc, family, what, renderSetup(table, masqRuleSet(chain, comment, family, addrs)))),
    ),
  );
}

async function teardownChains(mc: MasqContext, chains: readonly string[], what: string): Promise<number> {
  const removed = await Promise.all(
    FAMILIES.map((family) =>
      readNat(mc, family, what, true).then(async (table) => {
        const payload = renderTeardown(table, chains);
        if (payload === undefined) return 0;
        await restore(mc, family, what, payload);
        return chains.filter((c) => table.chains.has(c)).length;
      }),
    ),
  );
  return removed.reduce((a, b) => a + b, 0);
}

/**
 * DEL / rollback: removes every jump to the owner's chain and the chain, in both families. Needs neither
 * the netns nor the pod address (the chain name is derived from network + container ID), so it also cleans
 * up after a netns that is already gone (the reference cannot). Nothing there is success.
 */
export async function teardownIpMasq(mc: MasqContext, owner: MasqOwner): Promise<void> {
  const chain = masqChainName(owner.network, owner.containerId);
  const n = await teardownChains(mc, [chain], `could not remove the masquerade chain ${chain} of ${q(owner.containerId)}`);
  if (n > 0) mc.log.info("removed the masquerade chain", { chain, families: n });
}

/** CHECK: the chain, its rules and the jumps for the pod addresses exist. @throws CniError 105 naming what is missing */
export async function checkIpMasq(mc: MasqContext, owner: MasqOwner, addrs: readonly IpNet[]): Promise<void> {
  const chain = masqChainName(owner.network, owner.containerId);
  const comment = formatComment(owner.network, owner.containerId);
  const what = `could not read the masquerade rules of ${q(owner.containerId)}`;
  for (const family of familiesOf(addrs)) {
    const table = await readNat(mc, family, what, false);
    const missing = missingFrom(table, masqRuleSet(chain, comment, family, addrs));
    if (missing.length > 0) {
      throw new CniError(
        CNI_ERROR_CODE.CHECK_MISMATCH,
        `masquerading ("ipMasq": true) of ${q(owner.containerId)}: ${missing.join("; ")} (${family === 4 ? "iptables" : "ip6tables"} -t nat)`,
      );
    }
  }
}

/**
 * GC: removes the chains (and jumps) of this network whose container is not among `validIds`, found by the
 * comment on their rules. Returns the chains removed.
 */
export async function gcIpMasq(mc: MasqContext, network: string, validIds: ReadonlySet<string>): Promise<string[]> {
  const what = `could not remove stale masquerade chains of network ${q(network)}`;
  const removed = await Promise.all(
    FAMILIES.map((family) =>
      readNat(mc, family, what, true).then(async (table) => {
        const stale = staleChains(table, network, validIds, masqChainName);
        const payload = renderTeardown(table, stale);
        if (payload !== undefined) await restore(mc, family, what, payload);
        return stale;
      }),
    ),
  );
  return [...new Set(removed.flat())].sort();
}
