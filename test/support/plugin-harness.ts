// test/support/plugin-harness: runs a CNI plugin executable exactly as a container runtime does: a fresh
// environment holding only PATH and the CNI_* variables, the config on stdin, the result (or error JSON)
// read from stdout, logs from stderr. Optionally inside a test namespace (nsenter --net).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sharedService } from "./cni-service.js";
import type { TestNetns } from "./netns.js";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DIST = join(REPO_ROOT, "dist");
export const KUBENET_BIN = join(DIST, "kubenet");
/** The full plugin the thin client (dist/kubenet, Duktape) hands in-process calls to. */
export const KUBENET_FULL_BIN = join(DIST, "kubenet-full");

/** A Bun-compiled executable turns back into the bun CLI when BUN_BE_BUN=1 is set, and prints Bun's version. */
export function isBunCompiled(file: string): boolean {
  if (!existsSync(file)) return false;
  const r = spawnSync(file, ["--version"], { env: { BUN_BE_BUN: "1" }, encoding: "utf8", timeout: 60_000 });
  return r.status === 0 && /^\d+\.\d+\.\d+/.test(r.stdout);
}

/**
 * Whether `file` is the Duktape thin client (native/client-host/host.c names its embedded script so). Asking it
 * is no test: it hands whatever is not a CNI call to kubenet-full, which then answers for itself.
 */
export function isThinClient(file: string): boolean {
  try {
    return readFileSync(file).includes("kubenet-client.js");
  } catch {
    return false;
  }
}
export const HOST_LOCAL_BIN = join(DIST, "host-local");
export const BRIDGE_BIN = join(DIST, "bridge");
export const LOOPBACK_BIN = join(DIST, "loopback");
export const AGENT_BIN = join(DIST, "kubenet-agent");

/**
 * How our executable runs: "in-process" (no agent: the executable does the work) or "service" (an agent CNI
 * service, `kubenet-agent serve`, runs in the invocation's namespace and the config names its socket in
 * `agentSocket`). KUBENET_CNI_MODE=service selects it; the test/plugin/service/ twins set it.
 */
export const CNI_MODE: "in-process" | "service" = process.env["KUBENET_CNI_MODE"] === "service" ? "service" : "in-process";

const OUR_BINS = new Set([KUBENET_BIN, HOST_LOCAL_BIN, BRIDGE_BIN, LOOPBACK_BIN]);
/** Debian's containernetworking-plugins (reference implementations used as interop oracles). */
export const REF_PLUGIN_DIR = "/usr/lib/cni";

export interface PluginRun {
  /** Exit status; null when killed by a signal (see `signal`). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON, or undefined when it is empty or not JSON. */
  readonly json: unknown;
  /** Wall time of the run in milliseconds. */
  readonly ms: number;
}

export interface PluginInvocation {
  /** CNI_COMMAND (set unless `omitCommand`). */
  readonly command: string;
  readonly containerId?: string | undefined;
  readonly netns?: string | undefined;
  readonly ifName?: string | undefined;
  /** CNI_ARGS */
  readonly args?: string | undefined;
  /** CNI_PATH */
  readonly path?: string | undefined;
  /** object -> JSON.stringify; string/Buffer passed verbatim; undefined -> empty stdin. */
  readonly config?: unknown;
  /** Extra/overriding variables (a value of "" still sets the variable). */
  readonly env?: Readonly<Record<string, string>>;
  /** Do not set CNI_COMMAND at all. */
  readonly omitCommand?: boolean;
  /** Executable; default dist/kubenet. E.g. dist/bridge, /usr/lib/cni/host-local. */
  readonly bin?: string;
  /** Run inside this namespace (nsenter --net); default: the current one. */
  readonly host?: TestNetns;
  /** Kill after this many ms (default 180000: a hung plugin, not a slow one on a loaded machine). */
  readonly timeoutMs?: number;
}

/** The environment a runtime would pass: PATH plus the CNI_* variables, nothing inherited. */
export function pluginEnv(inv: PluginInvocation): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  if (!inv.omitCommand) env["CNI_COMMAND"] = inv.command;
  if (inv.containerId !== undefined) env["CNI_CONTAINERID"] = inv.containerId;
  if (inv.netns !== undefined) env["CNI_NETNS"] = inv.netns;
  if (inv.ifName !== undefined) env["CNI_IFNAME"] = inv.ifName;
  if (inv.args !== undefined) env["CNI_ARGS"] = inv.args;
  if (inv.path !== undefined) env["CNI_PATH"] = inv.path;
  return { ...env, ...(inv.env ?? {}) };
}

/**
 * Service mode: our executables get `agentSocket` (the service of the invocation's namespace) in a config
 * that is a JSON object without one; anything else (other plugins, raw bytes, no config) is left as it is.
 */
function withService(inv: PluginInvocation): PluginInvocation {
  if (CNI_MODE !== "service" || !OUR_BINS.has(inv.bin ?? KUBENET_BIN) || inv.omitCommand) return inv;
  let conf: unknown = inv.config;
  if (typeof conf === "string") {
    try {
      conf = JSON.parse(conf);
    } catch {
      return inv;
    }
  }
  if (typeof conf !== "object" || conf === null || Array.isArray(conf) || Buffer.isBuffer(conf) || "agentSocket" in conf) return inv;
  const socket = sharedService(AGENT_BIN).socket;
  return { ...inv, config: { ...(conf as Record<string, unknown>), agentSocket: socket } };
}

function stdinOf(config: unknown): Buffer {
  if (config === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(config)) return config;
  if (typeof config === "string") return Buffer.from(config);
  return Buffer.from(JSON.stringify(config));
}

function argvOf(inv: PluginInvocation): [string, string[]] {
  const bin = inv.bin ?? KUBENET_BIN;
  // tap's processinfo re-injects NODE_OPTIONS (its --import hook) into every child's environment, whatever
  // `env` we pass to spawn, which would load tap's hook into the plugin (and triple its start-up time).
  // `env -i` drops it again right before the plugin starts: it sees exactly what a runtime passes.
  const envArgs = ["-i", ...Object.entries(pluginEnv(inv)).map(([k, v]) => `${k}=${v}`), bin];
  return inv.host ? ["nsenter", [`--net=${inv.host.path}`, "--", "env", ...envArgs]] : ["env", envArgs];
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function runPlugin(given: PluginInvocation): PluginRun {
  const inv = withService(given);
  const [file, args] = argvOf(inv);
  const started = performance.now();
  const r = spawnSync(file, args, {
    env: pluginEnv(inv),
    input: stdinOf(inv.config),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: inv.timeoutMs ?? 180_000,
  });
  const ms = performance.now() - started;
  // EPIPE on stdin is fine: the plugin may answer (and exit) before reading all of a huge input.
  if (r.error && r.status === null && r.signal === null) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json: parseJson(r.stdout), ms };
}

export function runPluginAsync(given: PluginInvocation): Promise<PluginRun> {
  const inv = withService(given);
  const [file, args] = argvOf(inv);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env: pluginEnv(inv), stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {}); // EPIPE: see runPlugin
    const timer = setTimeout(() => child.kill("SIGKILL"), inv.timeoutMs ?? 180_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      resolve({
        code,
        signal,
        stdout,
        stderr: Buffer.concat(err).toString("utf8"),
        json: parseJson(stdout),
        ms: performance.now() - started,
      });
    });
    child.stdin.end(stdinOf(inv.config));
  });
}

/** The error object of a failed run ({code, msg, details?}), or undefined. */
export function errorOf(run: PluginRun): { code: number; msg: string; details?: string } | undefined {
  const j = run.json as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
  if (!j || typeof j.code !== "number" || typeof j.msg !== "string") return undefined;
  return typeof j.details === "string" ? { code: j.code, msg: j.msg, details: j.details } : { code: j.code, msg: j.msg };
}

/** A one-line summary for assertion messages. */
export function describeRun(run: PluginRun): string {
  return `exit=${run.code} stdout=${run.stdout.trim().slice(0, 800)} stderr=${run.stderr.trim().slice(0, 800)}`;
}
