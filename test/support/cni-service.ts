// test/support/cni-service: the agent's CNI service for tests. `kubenet-agent serve` started inside a test
// namespace (the plugin's "host" namespace: the service's threads work in their own namespace, like the
// plugin), on a socket in a temp directory; stopped when the test's namespace is destroyed or the test
// process exits. The plugin harness uses it when KUBENET_CNI_MODE=service (every e2e test in both modes).

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
  const argv = ["env", "-i", `PATH=${process.env["PATH"] ?? "/usr/bin:/bin"}`, process.execPath, ...args];
  const child = o.netnsPath === undefined ? spawn(argv[0] ?? "env", argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] }) : spawn("nsenter", [`--net=${o.netnsPath}`, "--", ...argv], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (b: Buffer) => {
    log += b.toString("utf8");
  });
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

/** One service per namespace, started on first use (service mode of the plugin harness). */
const perNetns = new Map<string, CniService>();

export function serviceFor(netnsPath: string | undefined, agentBin: string): CniService {
  const key = netnsPath ?? "";
  let svc = perNetns.get(key);
  if (svc !== undefined && svc.child.exitCode === null && svc.child.signalCode === null && (netnsPath === undefined || existsSync(netnsPath))) return svc;
  svc = startCniService({ netnsPath, agentBin });
  perNetns.set(key, svc);
  return svc;
}

/** Stops the service of a namespace that is being destroyed (it would keep the namespace alive). */
export function stopServiceFor(netnsPath: string): void {
  const svc = perNetns.get(netnsPath);
  if (svc === undefined) return;
  perNetns.delete(netnsPath);
  void svc.stop("SIGKILL");
}
