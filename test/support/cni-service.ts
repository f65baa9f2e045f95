// test/support/cni-service: the agent's CNI service for tests: `kubenet-agent serve` (optionally inside a test
// namespace) on a socket in a temp directory, killed when the test process exits at the latest. The plugin
// harness uses one per test process when KUBENET_CNI_MODE=service (every e2e test runs in both modes).

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CniService {
  readonly socket: string;
  readonly child: ChildProcess;
  /** Everything the service logged (JSON lines). */
  readonly log: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms: number): void => {
  Atomics.wait(sleepCell, 0, 0, ms);
};

export interface StartOptions {
  /** Run inside this namespace (nsenter --net); default: the current one. */
  readonly netnsPath?: string | undefined;
  readonly agentBin: string;
  readonly workers?: number;
  /** Socket path; default a fresh temp directory's cni.sock. */
  readonly socket?: string;
}

/** Starts `kubenet-agent serve` and waits (blocking) until its socket exists. */
export function startCniService(o: StartOptions): CniService {
  const dir = o.socket === undefined ? mkdtempSync(join(tmpdir(), "kubenet-svc-")) : undefined;
  const socket = o.socket ?? join(dir ?? "", "run", "cni.sock");
  const args = [o.agentBin, "serve", "--cni-socket", socket, "--listen", "off", "--log-level", "debug", ...(o.workers ? ["--cni-workers", String(o.workers)] : [])];
  // env -i: tap's NODE_OPTIONS hook must not load into the agent (as runPlugin does for the plugin).
  // --pdeathsig: a test process killed by tap's timeout takes its service with it.
  const argv = ["setpriv", "--pdeathsig", "KILL", "--", "env", "-i", `PATH=${process.env["PATH"] ?? "/usr/bin:/bin"}`, process.execPath, ...args];
  const child = o.netnsPath === undefined ? spawn(argv[0] ?? "setpriv", argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] }) : spawn("nsenter", [`--net=${o.netnsPath}`, "--", ...argv], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (b: Buffer) => {
    log += b.toString("utf8");
  });
  // The service must not keep the test process alive once its tests are done (exit kills it, below).
  child.unref();
  (child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null)?.unref?.();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`kubenet-agent serve did not create ${socket} (exit ${child.exitCode}): ${log}`);
    }
    sleepSync(20);
  }
  const svc: CniService = {
    socket,
    child,
    log: () => log,
    async stop(signal = "SIGTERM") {
      // Referenced again while we wait for it: an unreferenced child alone would let the test process end
      // before its exit event (tap then reports the teardown unfinished).
      child.ref();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      running.delete(svc);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(svc);
  return svc;
}

const running = new Set<CniService>();
process.on("exit", () => {
  for (const s of running) s.child.kill("SIGKILL");
});

/**
 * The service of the plugin harness's service mode: one per test process, started on first use in the
 * current namespace. It runs each request in the caller's namespace (the plugin is started inside the test's
 * "host" namespace), so one service serves every test of the file.
 */
let shared: CniService | undefined;

export function sharedService(agentBin: string): CniService {
  if (shared !== undefined && shared.child.exitCode === null && shared.child.signalCode === null) return shared;
  shared = startCniService({ agentBin });
  return shared;
}
