// plugin/main: the CNI executable's entry point (bundled to dist/kubenet; dist/bridge, dist/host-local and
// dist/loopback are symlinks, and basename(argv[1]) picks the plugin). The only plugin file that touches
// process.env, stdio and the exit status. Loads just what the invocation needs: the datapath commands (and
// through them native/ and koffi) are imported lazily, so VERSION, errors and host-local stay cheap.

import { readSync, writeSync, appendFileSync } from "node:fs";
import { basename } from "node:path";
import { CNI_ERROR_CODE, CniError } from "../core/cni/errors.js";
import type { PluginName } from "../core/cni/netconf.js";
import { skelMain, type SkelIo } from "./skel.js";
import type { PluginCommands } from "./types.js";

const sleepMs = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

function errnoCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : undefined;
}

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
      const code = errnoCode(e);
      if (code === "EAGAIN") {
        sleepMs(1); // a non-blocking pipe with nothing yet
        continue;
      }
      if (code === "EOF" || code === "EBADF") break; // closed or absent stdin = empty config
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

function writeAll(fd: number, text: string): void {
  let data = Buffer.from(text);
  while (data.length > 0) {
    try {
      const n = writeSync(fd, data);
      data = data.subarray(n);
    } catch (e) {
      if (errnoCode(e) === "EAGAIN") {
        sleepMs(1);
        continue;
      }
      if (errnoCode(e) === "EPIPE") return; // nobody is reading; nothing better to do
      throw e;
    }
  }
}

async function loadCommands(plugin: PluginName): Promise<PluginCommands> {
  if (plugin === "host-local") return (await import("./ipam/commands.js")).hostLocalCommands;
  const datapath = await import("./commands/index.js");
  return plugin === "loopback" ? datapath.loopbackCommands : datapath.bridgeCommands;
}

const io: SkelIo = {
  invokedAs: basename(process.argv[1] ?? "kubenet"),
  env: process.env,
  readStdin,
  writeStdout: (text) => writeAll(1, text),
  writeStderr: (text) => writeAll(2, text),
  appendLog: (path, text) => appendFileSync(path, text, { mode: 0o600 }),
  loadCommands,
};

skelMain(io).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // skelMain never throws; this is the last line of defence.
    writeAll(2, `kubenet: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
