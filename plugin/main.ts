// plugin/main: the full CNI executable's entry point (bundled to dist/kubenet-full; dist/kubenet is the Duktape
// thin client, plugin/client-main.ts, which execs this one with the same argv when the call runs in-process;
// dist/bridge, dist/host-local and dist/loopback are symlinks to it, and basename(argv0) picks the plugin).
// The only plugin file that touches process.env, stdio and the exit status. It works on its own too (a node
// where the thin client could not be built runs it as dist/kubenet).
// First it is a thin client: ADD/DEL/CHECK/GC/STATUS go to the agent's CNI service when one listens (the
// config's agentSocket, else /run/kubenet/cni.sock); with no service the command runs here, as before.
// Start-up is the budget, so the static imports are only the thin client's: stdin/stdout, the wire format,
// the cheap stdin peeks and a unix socket (native/client: Bun's own FFI under Bun, no koffi, no netlink).
// skel, the commands and through them native/index and koffi are imported only when the command runs here.

import { readSync, writeSync, appendFileSync } from "node:fs";
import { basename } from "node:path";
import { CNI_ERROR_CODE, CniError } from "../core/cni/errors.js";
import { peekAgentSocket } from "../core/cni/peek.js";
import { clientConnector, isErrno } from "../native/client.js";
import { MAX_STDIN_BYTES, SERVICE_COMMANDS, callService, lostRequestError } from "./client.js";
import { loadCommands } from "./load-commands.js";
import type { SkelIo } from "./skel.js";

// Made on the first wait only: most calls never wait, and start-up is the thin client's budget.
let sleepCell: Int32Array | undefined;
const sleepMs = (ms: number): void => {
  Atomics.wait((sleepCell ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, ms);
};

/** Reads fd 0 to EOF, failing fast once more than `limit` bytes arrived (10 MB of junk never gets parsed). */
function readStdin(limit: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (isErrno(e, "EAGAIN")) {
        sleepMs(1); // a non-blocking pipe with nothing yet
        continue;
      }
      if (isErrno(e, "EOF", "EBADF")) break; // closed or absent stdin = empty config
      throw e;
    }
    if (n === 0) break;
    total += n;
    if (total > limit) {
      throw new CniError(
        CNI_ERROR_CODE.IO_FAILURE,
        `network configuration on stdin is larger than ${limit} bytes: a CNI config is a small JSON object; check what the runtime passes on stdin`,
      );
    }
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

function writeAll(fd: number, text: string | Uint8Array): void {
  let data = typeof text === "string" ? Buffer.from(text) : text;
  while (data.length > 0) {
    try {
      const n = writeSync(fd, data);
      data = data.subarray(n);
    } catch (e) {
      if (isErrno(e, "EAGAIN")) {
        sleepMs(1);
        continue;
      }
      if (isErrno(e, "EPIPE")) return; // nobody is reading; nothing better to do
      throw e;
    }
  }
}

/**
 * The name this executable was run as (multi-call). A script's is argv[1]; a Bun-compiled executable reports
 * its bundled entry ("/$bunfs/root/...") there and the exec'ed name in argv0.
 */
function invokedAsName(): string {
  const script = process.argv[1];
  return basename(script === undefined || script.startsWith("/$bunfs/") ? process.argv0 : script);
}
const invokedAs = invokedAsName();

/** stdin read once: by the thin client (it forwards the bytes) and, on fallback, handed to skel as is. */
let stdinRead: { readonly bytes: Buffer } | { readonly error: unknown } | undefined;
function stdinOnce(limit: number): Buffer {
  if (stdinRead === undefined) {
    try {
      stdinRead = { bytes: readStdin(limit) };
    } catch (error) {
      stdinRead = { error };
    }
  }
  if ("error" in stdinRead) throw stdinRead.error;
  return stdinRead.bytes;
}

/**
 * The thin client: returns the exit code when the service answered (or lost the request: code 11), or
 * undefined when the command must run in-process (no service, refused, or not a command worth a trip).
 */
async function viaService(): Promise<number | undefined> {
  // The Duktape thin client (plugin/client-main.ts) asked the service already and handed the call over.
  if (process.env["KUBENET_SERVICE_TRIED"] === "1") {
    delete process.env["KUBENET_SERVICE_TRIED"];
    return undefined;
  }
  if (!SERVICE_COMMANDS.has(process.env["CNI_COMMAND"] ?? "")) return undefined;
  let stdin: Buffer;
  try {
    stdin = stdinOnce(MAX_STDIN_BYTES);
  } catch {
    return undefined; // skel reports it
  }
  const path = peekAgentSocket(stdin);
  if (path === undefined) return undefined;
  const debug = process.env["KUBENET_DEBUG"] === "1";
  const env = Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined);
  let socket;
  try {
    socket = await clientConnector();
  } catch (e) {
    if (debug) writeAll(2, `kubenet: running in-process: no socket binding: ${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  }
  const outcome = callService(path, { invokedAs, env, stdin }, socket.connect);
  switch (outcome.kind) {
    case "answered":
      writeAll(1, outcome.stdout);
      writeAll(2, outcome.stderr);
      if (debug) writeAll(2, `kubenet: answered by the CNI service at ${path} (socket through ${socket.binding})\n`);
      return outcome.exitCode;
    case "lost":
      writeAll(1, lostRequestError(path, outcome.reason, stdin));
      return 1;
    case "unavailable":
      if (debug) writeAll(2, `kubenet: running in-process: ${outcome.reason} (socket through ${socket.binding})\n`);
      return undefined;
  }
}

const io: SkelIo = {
  invokedAs,
  env: process.env,
  readStdin: stdinOnce,
  writeStdout: (text) => writeAll(1, text),
  writeStderr: (text) => writeAll(2, text),
  appendLog: (path, text) => appendFileSync(path, text, { mode: 0o600 }),
  loadCommands,
};

/** The command in this process: skel (and the commands, native/, koffi) load only now. */
async function inProcess(): Promise<number> {
  // `kubenet status` / `kubenet gc`: operator subcommands, only when no runtime is calling (no CNI_COMMAND).
  const sub = process.argv[2];
  if (process.env["CNI_COMMAND"] === undefined && (sub === "status" || sub === "gc")) {
    return (await import("./admin/main.js")).adminMain(sub, process.argv.slice(3), io);
  }
  return (await import("./skel.js")).skelMain(io);
}

// Exit as soon as the answer is out: stdout, stderr and the log file are written synchronously, so nothing is
// pending. Letting the runtime wind down instead (process.exitCode) costs every call ~10 ms of teardown.
viaService()
  .then((served) => served ?? inProcess())
  .then(
    // (Also: a lock wait that timed out leaves a flock pending on a pool thread, which would keep the process.)
    (code) => process.exit(code),
    (e: unknown) => {
      // skelMain never throws; this is the last line of defence.
      writeAll(2, `kubenet: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
