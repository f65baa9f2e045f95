// plugin/skel: the CNI protocol around a plugin. Reads the environment and stdin (given as parameters),
// checks what each command needs (spec table + the Go lib's checks), parses the config once, calls the
// plugin's command, prints the result in the requested version, and is the ONE place where any error
// becomes `{cniVersion, code, msg, details}` on stdout with exit status 1. Logs go to stderr (and
// conf.logFile), never stdout. Imports core/, native/index.ts (error classes only: koffi stays unloaded)
// and plugin types; the commands are loaded by the caller.

import { interfaceNameProblem } from "../core/cni/bridge-conf.js";
import { checkCniArgKeys, checkCniArgValues, parseCniArgs } from "../core/cni/cni-args.js";
import { CNI_ERROR_CODE, CniError, encodeError, q } from "../core/cni/errors.js";
import { checkNetnsPath } from "../core/cni/limits.js";
import {
  NAME_RE,
  isPluginName,
  parseNetConf,
  type NetConf,
  type PluginName,
} from "../core/cni/netconf.js";
import { peekCniVersion } from "../core/cni/peek.js";
import { encodeResult } from "../core/cni/result.js";
import { CURRENT_CNI_VERSION, SUPPORTED_CNI_VERSIONS, cniVersionAtLeast, type CniVersion } from "../core/cni/version.js";
import { LockTimeoutError, NetlinkError, NetnsNotFoundError, NotNetnsError, SysError } from "../native/index.js";
import { MAX_STDIN_BYTES } from "./client.js"; // the stdin limit, beside the thin client that reads stdin first
import { versionInfo } from "./commands/version.js";
import type { CniCommand, Logger, PluginCommands, PluginContext, PluginRequest } from "./types.js";

export interface SkelIo {
  /** The name the executable was invoked as (basename of argv[1]): picks the plugin. */
  readonly invokedAs: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads all of stdin, at most `limit` bytes; throws CniError IO_FAILURE when there is more. */
  readStdin(limit: number): Buffer;
  writeStdout(text: string): void;
  writeStderr(text: string): void;
  /** Appends to a log file; errors are the caller's to swallow. */
  appendLog(path: string, text: string): void;
  /** Loads the commands of a plugin (lazily: only what this invocation needs). */
  loadCommands(plugin: PluginName): Promise<PluginCommands>;
  /** Optional hooks for the context (tests run the plugin inside a throwaway "host" namespace). */
  readonly hostNetnsPath?: string | undefined;
  /** The lease lock (PluginContext.leaseLocker): set by the agent's CNI service. */
  readonly leaseLocker?: PluginContext["leaseLocker"];
}

const COMMANDS: readonly CniCommand[] = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"];

/**
 * Environment variables each command requires (spec §"Parameters"; empty counts as missing, as in the Go
 * lib). CNI_PATH follows the spec (required for GC only); a delegating plugin reports it when it needs it.
 */
const REQUIRED_ENV: Readonly<Record<CniCommand, readonly string[]>> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  GC: ["CNI_PATH"],
  STATUS: [],
  VERSION: [],
};

/** Minimum config version per command (the Go skel's gating). */
const MIN_VERSION: Partial<Record<CniCommand, CniVersion>> = { CHECK: "0.4.0", GC: "1.1.0", STATUS: "1.1.0" };

/** CNI_ARGS keys each plugin understands (beyond IgnoreUnknown and the K8S_POD_* keys). */
const KNOWN_CNI_ARGS: Readonly<Record<PluginName, readonly string[]>> = {
  kubenet: ["IP", "MAC"],
  bridge: ["IP", "MAC"],
  "host-local": ["IP"],
  loopback: [],
  bandwidth: [],
  portmap: [],
};

const ABOUT = "kubenet-ts CNI plugin (kubenet, bridge, host-local, loopback, bandwidth, portmap)";

/** The plugin named by the executable: "host-local" for dist/host-local; anything unknown acts as kubenet. */
export function invokedPlugin(invokedAs: string): PluginName {
  const base = invokedAs.replace(/\.(c?js|mjs|ts)$/, "");
  return isPluginName(base) ? base : "kubenet";
}

// ---------------------------------------------------------------------------------------------------
// Logging

type Level = "debug" | "info" | "warn" | "error";

function formatLine(level: Level, prefix: string, msg: string, fields?: Readonly<Record<string, unknown>>): string {
  const kv = fields ? Object.entries(fields).map(([k, v]) => ` ${k}=${q(v)}`).join("") : "";
  return `${new Date().toISOString()} ${level.toUpperCase()} ${prefix}${msg}${kv}\n`;
}

/** Logger writing to stderr and, once the config names one, to logFile. debug only when KUBENET_DEBUG=1. */
export class SkelLogger implements Logger {
  private logFile: string | undefined;
  private prefix = "";
  private logFileBroken = false;
  private readonly io: SkelIo;
  private readonly debugOn: boolean;

  constructor(io: SkelIo) {
    this.io = io;
    this.debugOn = io.env["KUBENET_DEBUG"] === "1";
  }

  setLogFile(path: string | undefined): void {
    this.logFile = path;
  }

  setPrefix(prefix: string): void {
    this.prefix = prefix;
  }

  private write(level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void {
    const line = formatLine(level, this.prefix, msg, fields);
    if (level !== "debug" || this.debugOn) this.io.writeStderr(line);
    if (this.logFile !== undefined && !this.logFileBroken) {
      try {
        this.io.appendLog(this.logFile, line);
      } catch (e) {
        this.logFileBroken = true;
        this.io.writeStderr(formatLine("warn", this.prefix, `cannot append to logFile ${q(this.logFile)}: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
  }

  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.write("debug", msg, fields);
  }
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.write("info", msg, fields);
  }
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.write("warn", msg, fields);
  }
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.write("error", msg, fields);
  }
}

// ---------------------------------------------------------------------------------------------------
// The one error -> CniError mapping.

/** Node.js system errors (fs.*Sync) carry errno + syscall + code like SysError does. */
function isNodeSystemError(err: unknown): err is Error & { errno: number; code: string; syscall: string } {
  if (!(err instanceof Error)) return false;
  const e = err as Error & Record<string, unknown>;
  return typeof e["errno"] === "number" && typeof e["syscall"] === "string" && typeof e["code"] === "string";
}

/**
 * Any thrown value -> CniError. CniError passes through; LockTimeoutError -> 11 (try again); a netns
 * that is missing or not a netns -> 110; SysError/NetlinkError and Node system errors -> 102 with the
 * errno in details; anything else is a bug -> 999 with the stack in details.
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof LockTimeoutError) {
    return new CniError(CNI_ERROR_CODE.TRY_AGAIN_LATER, `${err.message}: try again later`, { cause: err });
  }
  if (err instanceof NetnsNotFoundError || err instanceof NotNetnsError) {
    return new CniError(CNI_ERROR_CODE.NETNS_UNAVAILABLE, `cannot use the container network namespace: ${err.message}`, { cause: err });
  }
  if (err instanceof NetlinkError) {
    const details = [`errno=${err.code}(${err.errno})`, `op=${err.op}`];
    if (err.extAck !== undefined) details.push(`extack=${q(err.extAck)}`);
    return new CniError(CNI_ERROR_CODE.KERNEL_OPERATION_FAILED, err.message, { details: details.join(" "), cause: err });
  }
  if (err instanceof SysError || isNodeSystemError(err)) {
    return new CniError(CNI_ERROR_CODE.KERNEL_OPERATION_FAILED, err.message, {
      details: `errno=${err.code}(${Math.abs(err.errno)}) syscall=${err.syscall}`,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error ? err.stack : undefined;
  return new CniError(CNI_ERROR_CODE.INTERNAL, `internal error (a bug, please report it): ${message}`, {
    details: stack,
    cause: err,
  });
}

// ---------------------------------------------------------------------------------------------------

function envError(msg: string): CniError {
  return new CniError(CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES, msg);
}

/** Spec §"Parameters": CNI_CONTAINERID grammar. */
function checkContainerId(id: string): void {
  if (!NAME_RE.test(id)) {
    throw envError(`invalid characters in CNI_CONTAINERID ${q(id)}: use letters, digits, "_", "." and "-", starting with a letter or digit`);
  }
}

function checkIfName(name: string): void {
  const problem = interfaceNameProblem(name);
  if (problem) throw envError(`CNI_IFNAME ${q(name)} ${problem}: use a Linux interface name of 1-15 characters such as "eth0"`);
}

/** DEL needs nothing from CNI_ARGS: a malformed value or an unknown key is logged, never a reason to keep state. */
function delCniArgs(text: string | undefined, plugin: PluginName, log: Logger): ReadonlyMap<string, string> {
  try {
    const args = parseCniArgs(text);
    checkCniArgKeys(args, KNOWN_CNI_ARGS[plugin]);
    return args;
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    log.warn(`ignoring CNI_ARGS: ${e.message}`);
    return new Map();
  }
}

/** CNI_CONTAINERID, CNI_IFNAME and CNI_NETNS of an attachment command, before the config is even read. */
function checkAttachmentEnv(cmd: CniCommand, env: SkelIo["env"]): void {
  if (cmd !== "ADD" && cmd !== "DEL" && cmd !== "CHECK") return;
  checkContainerId(env["CNI_CONTAINERID"] ?? "");
  checkIfName(env["CNI_IFNAME"] ?? "");
  // A netns path the kernel cannot open (DEL: the netns is only a hint, a missing one is gone).
  if (cmd !== "DEL") checkNetnsPath(env["CNI_NETNS"] ?? "");
}

function splitPath(p: string | undefined): string[] {
  return (p ?? "").split(":").filter((s) => s !== "");
}

/** CNI_COMMAND, one of the commands the spec defines. */
function commandOf(command: string): CniCommand {
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw envError(`unknown CNI_COMMAND ${q(command)}: expected one of ${COMMANDS.join(", ")}`);
  }
  return command as CniCommand;
}

function readConfigBytes(io: SkelIo): Buffer {
  try {
    return io.readStdin(MAX_STDIN_BYTES);
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(CNI_ERROR_CODE.IO_FAILURE, `error reading the network configuration from stdin: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** GC and STATUS exist from 1.1.0 on: an older config cannot ask for them. */
function checkMinVersion(cmd: CniCommand, conf: NetConf): void {
  const min = MIN_VERSION[cmd];
  if (min !== undefined && !cniVersionAtLeast(conf.cniVersion, min)) {
    throw new CniError(
      CNI_ERROR_CODE.INCOMPATIBLE_CNI_VERSION,
      `config version ${q(conf.cniVersion)} does not allow ${cmd}: ${cmd} needs cniVersion ${q(min)} or newer`,
    );
  }
}

/** What the command function receives (a DEL's netns is absent when CNI_NETNS is empty: the pod is gone). */
function requestOf(cmd: Exclude<CniCommand, "VERSION">, env: SkelIo["env"], conf: NetConf, cniArgs: ReadonlyMap<string, string>): PluginRequest {
  const containerId = env["CNI_CONTAINERID"] ?? "";
  const ifName = env["CNI_IFNAME"] ?? "";
  const netns = env["CNI_NETNS"];
  const cniPath = splitPath(env["CNI_PATH"]);
  switch (cmd) {
    case "ADD":
      return { command: "ADD", containerId, netns: netns ?? "", ifName, cniArgs, cniPath, conf };
    case "DEL":
      return { command: "DEL", containerId, netns: netns === "" ? undefined : netns, ifName, cniArgs, cniPath, conf };
    case "CHECK":
      return { command: "CHECK", containerId, netns: netns ?? "", ifName, cniArgs, cniPath, conf };
    case "GC":
      return { command: "GC", cniPath, conf, validAttachments: conf.validAttachments ?? [] };
    case "STATUS":
      return { command: "STATUS", cniPath, conf };
  }
}

/** Runs the request's command; ADD prints its result in the config's version. */
async function dispatch(req: PluginRequest, commands: PluginCommands, ctx: PluginContext, io: SkelIo, log: SkelLogger): Promise<void> {
  switch (req.command) {
    case "ADD": {
      const json = encodeResult(await commands.add(req, ctx), req.conf.cniVersion);
      io.writeStdout(`${JSON.stringify(json, null, 4)}\n`);
      log.debug("done", { result: json });
      return;
    }
    case "DEL":
      await commands.del(req, ctx);
      break;
    case "CHECK":
      await commands.check(req, ctx);
      break;
    case "GC":
      await commands.gc(req, ctx);
      break;
    case "STATUS":
      await commands.status(req, ctx);
      break;
  }
  log.debug("done");
}

/** Runs one plugin invocation; returns the exit status. Never throws. */
export async function skelMain(io: SkelIo): Promise<number> {
  const log = new SkelLogger(io);
  const invoked = invokedPlugin(io.invokedAs);
  const command = io.env["CNI_COMMAND"];
  let errorVersion: string = CURRENT_CNI_VERSION;

  if (command === undefined || command === "") {
    // The Go lib prints an about banner and exits 0 when run without a command (e.g. by a person).
    io.writeStderr(`${ABOUT}, invoked as ${invoked}\nCNI protocol versions supported: ${SUPPORTED_CNI_VERSIONS.join(", ")}\n`);
    return 0;
  }
  try {
    const cmd = commandOf(command);
    if (cmd === "VERSION") {
      io.writeStdout(`${JSON.stringify(versionInfo(), null, 4)}\n`);
      return 0;
    }
    const missing = REQUIRED_ENV[cmd].filter((k) => (io.env[k] ?? "") === "");
    if (missing.length > 0) throw envError(`required environment variables missing for ${cmd}: ${missing.join(", ")}`);
    const stdin = readConfigBytes(io);
    errorVersion = peekCniVersion(stdin) ?? CURRENT_CNI_VERSION;

    const attachment = cmd === "ADD" || cmd === "DEL" || cmd === "CHECK";
    const who = attachment ? ` ${(io.env["CNI_CONTAINERID"] ?? "").slice(0, 12)}/${io.env["CNI_IFNAME"] ?? ""}` : "";
    log.setPrefix(`${invoked} ${cmd}${who}: `);
    checkAttachmentEnv(cmd, io.env);
    const conf: NetConf = parseNetConf(stdin, invoked, { del: cmd === "DEL" });
    errorVersion = conf.cniVersion;
    log.setLogFile(conf.logFile);
    log.setPrefix(`${conf.plugin} ${cmd}${who}: `);
    // DEL releases what it can whatever the rest of its input looks like: a malformed hint is only logged.
    for (const problem of conf.ignored) log.warn(`ignoring a malformed field: ${problem}`);
    checkMinVersion(cmd, conf);
    const cniArgs = cmd === "DEL" ? delCniArgs(io.env["CNI_ARGS"], conf.plugin, log) : parseCniArgs(io.env["CNI_ARGS"]);
    if (cmd !== "DEL") {
      checkCniArgKeys(cniArgs, KNOWN_CNI_ARGS[conf.plugin]);
      if (KNOWN_CNI_ARGS[conf.plugin].length > 0) checkCniArgValues(cniArgs);
    }

    const ctx: PluginContext = {
      log,
      env: io.env,
      stdinBytes: stdin,
      ...(io.hostNetnsPath ? { hostNetnsPath: io.hostNetnsPath } : {}),
      ...(io.leaseLocker ? { leaseLocker: io.leaseLocker } : {}),
    };
    const commands = await io.loadCommands(conf.plugin);
    log.debug("start", { netns: io.env["CNI_NETNS"], args: io.env["CNI_ARGS"] });
    await dispatch(requestOf(cmd, io.env, conf, cniArgs), commands, ctx, io, log);
    return 0;
  } catch (e) {
    const err = toCniError(e);
    log.error(`failed: ${err.message}`, { code: err.code, ...(err.code === CNI_ERROR_CODE.INTERNAL && err.details ? { stack: err.details } : {}) });
    io.writeStdout(`${JSON.stringify(encodeError(err, errorVersion), null, 4)}\n`);
    return 1;
  }
}
