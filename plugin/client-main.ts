// plugin/client-main: the thin CNI client as installed in /opt/cni/bin (dist/kubenet and its multi-call links).
// Run by Duktape inside native/client-host/host.c (scripts/build-client.mjs bundles this file, lowers it to ES5
// and embeds it), because this process starts for every CNI call and Duktape starts in a fraction of any other
// runtime's time. It does exactly what plugin/main.ts's thin client does, with the same code (plugin/client,
// core/cni/peek, core/cni/wire): ADD/DEL/CHECK/GC/STATUS go to the agent's CNI service when one listens (the
// config's agentSocket, else /run/kubenet/cni.sock). Everything else (no service, a refusal, VERSION, the
// `kubenet status`/`gc` subcommands) is handed to the full plugin, `kubenet-full` beside this executable, by
// exec: same argv, same environment, the same stdin bytes. Nothing here imports node: Duktape has no Node API.

import { CNI_ERROR_CODE, CniError, encodeError } from "../core/cni/errors.js";
import { peekAgentSocket, peekCniVersion } from "../core/cni/peek.js";
import { CURRENT_CNI_VERSION } from "../core/cni/version.js";
import { MAX_STDIN_BYTES, SERVICE_COMMANDS, callService, lostRequestError, type ClientSocket } from "./client.js";

/** What native/client-host/host.c defines as the global `host` (errors carry the errno name in `code`). */
interface ClientHost {
  readonly argv0: string;
  exitCode: number;
  connectUnix(path: string): number;
  writeAll(fd: number, data: Uint8Array): void;
  /** To EOF, stopping after `limit` + 1 bytes; `idleMs` < 0 waits forever. */
  readToEnd(fd: number, limit: number, idleMs: number): Uint8Array;
  close(fd: number): void;
  environ(): [string, string][];
  /** kubenet-full beside this executable; throws when it is missing or not safe to run. */
  fullPlugin(): string;
  /**
   * Replaces this process (returns only by throwing); `stdin` becomes its stdin (undefined: ours, untouched);
   * `serviceTried` sets KUBENET_SERVICE_TRIED=1.
   */
  execFull(path: string, stdin: Uint8Array | undefined, serviceTried: boolean): never;
}
declare const host: ClientHost;

const BINDING = "duktape";
const utf8 = new TextEncoder();
const invokedAs = host.argv0.slice(host.argv0.lastIndexOf("/") + 1);
const env = host.environ();
const envOf = (key: string): string | undefined => env.find((e) => e[0] === key)?.[1];
const debug = envOf("KUBENET_DEBUG") === "1";

function say(text: string): void {
  host.writeAll(2, utf8.encode(text));
}

/**
 * Hands the call to the full plugin (`stdin`: the bytes read so far, given back; undefined: stdin was not
 * touched); if even that is impossible, a CNI error (code 5) naming the file.
 */
function runFull(stdin: Uint8Array | undefined, serviceTried: boolean): number {
  let detail: string;
  try {
    return host.execFull(host.fullPlugin(), stdin, serviceTried);
  } catch (e) {
    detail = e instanceof Error ? e.message : String(e);
  }
  const err = new CniError(CNI_ERROR_CODE.IO_FAILURE, `kubenet's thin client cannot run the command in-process: ${detail}`);
  const version = (stdin && peekCniVersion(stdin)) ?? CURRENT_CNI_VERSION;
  host.writeAll(1, utf8.encode(`${JSON.stringify(encodeError(err, version), null, 4)}\n`));
  return 1;
}

function socketOf(path: string): ClientSocket {
  const fd = host.connectUnix(path);
  return {
    writeAll: (data) => host.writeAll(fd, data),
    readToEnd: (limit, idleMs) => host.readToEnd(fd, limit, idleMs),
    close: () => host.close(fd),
  };
}

function main(): number {
  // Not a command for the service (VERSION, a mistake, or `kubenet status` typed in a shell): stdin untouched.
  if (!SERVICE_COMMANDS.has(envOf("CNI_COMMAND") ?? "")) return runFull(undefined, false);
  let stdin: Uint8Array;
  try {
    stdin = host.readToEnd(0, MAX_STDIN_BYTES, -1);
  } catch {
    return runFull(new Uint8Array(0), false); // stdin unreadable: the full plugin tries it and reports it
  }
  if (stdin.length > MAX_STDIN_BYTES) return runFull(stdin, false); // it reports the size
  const path = peekAgentSocket(stdin);
  if (path === undefined) return runFull(stdin, true);
  const outcome = callService(path, { invokedAs, env, stdin }, socketOf);
  switch (outcome.kind) {
    case "answered":
      host.writeAll(1, outcome.stdout);
      host.writeAll(2, outcome.stderr);
      if (debug) say(`kubenet: answered by the CNI service at ${path} (socket through ${BINDING})\n`);
      return outcome.exitCode;
    case "lost":
      host.writeAll(1, utf8.encode(lostRequestError(path, outcome.reason, stdin)));
      return 1;
    case "unavailable":
      if (debug) say(`kubenet: running in-process: ${outcome.reason} (socket through ${BINDING})\n`);
      return runFull(stdin, true);
  }
}

host.exitCode = main();
