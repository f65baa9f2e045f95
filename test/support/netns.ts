// test/support/netns: throwaway network namespaces for kernel tests.
// Kernel tests run only inside the sandbox that scripts/test.sh sets up (a fresh network + private mount
// namespace, KUBENET_TEST_SANDBOX=1), so nothing they do can reach the machine's own network namespace.
// Each test then creates its own named namespaces ("host", "container", ...) and they are destroyed in
// the test's teardown, also when the test fails.

import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";

export const KERNEL_SKIP: string | false =
  process.env["KUBENET_TEST_SANDBOX"] !== "1"
    ? "kernel tests run only under scripts/test.sh (throwaway namespace sandbox, as root)"
    : process.getuid?.() !== 0
      ? "kernel tests need root"
      : false;

export interface TestNetns {
  readonly name: string;
  /** /run/netns/<name>: what CNI_NETNS carries. */
  readonly path: string;
  /** Runs a command inside the namespace; throws with stderr on a non-zero exit. Returns stdout. */
  exec(cmd: string, args: readonly string[], input?: string): string;
  /** Like exec, but returns the whole result without throwing. */
  run(cmd: string, args: readonly string[], input?: string): SpawnSyncReturns<string>;
  /** `ip -j ...` inside the namespace, parsed: the independent oracle for kernel state. */
  ipJson(args: readonly string[]): unknown;
  destroy(): void;
}

/** Anything with a tap-like teardown hook. */
export interface Teardownable {
  teardown(fn: () => void | Promise<void>): void;
}

function runIn(name: string, cmd: string, args: readonly string[], input?: string): SpawnSyncReturns<string> {
  // nsenter (not `ip netns exec`) keeps /sys and the mount namespace as they are; only the netns changes.
  return spawnSync("nsenter", [`--net=/run/netns/${name}`, "--", cmd, ...args], {
    encoding: "utf8",
    input: input ?? "",
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Creates a named namespace with `lo` up; destroyed at the test's teardown. */
export function createNetns(t: Teardownable | undefined, prefix = "kt"): TestNetns {
  if (KERNEL_SKIP) throw new Error(KERNEL_SKIP);
  const name = `${prefix}-${randomBytes(4).toString("hex")}`;
  execFileSync("ip", ["netns", "add", name], { stdio: ["ignore", "ignore", "pipe"] });
  const ns: TestNetns = {
    name,
    path: `/run/netns/${name}`,
    run: (cmd, args, input) => runIn(name, cmd, args, input),
    exec(cmd, args, input) {
      const r = runIn(name, cmd, args, input);
      if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} failed in netns ${name} (exit ${r.status}): ${r.stderr.trim()}`);
      }
      return r.stdout;
    },
    ipJson(args) {
      const out = ns.exec("ip", ["-j", ...args]);
      return out.trim() === "" ? [] : (JSON.parse(out) as unknown);
    },
    destroy() {
      if (existsSync(`/run/netns/${name}`)) {
        spawnSync("ip", ["netns", "del", name], { stdio: "ignore" });
      }
    },
  };
  ns.exec("ip", ["link", "set", "lo", "up"]);
  t?.teardown(() => ns.destroy());
  return ns;
}

/** A "host" namespace plus `count` "container" namespaces, all destroyed at teardown. */
export function createTopology(t: Teardownable, count: number): { host: TestNetns; containers: TestNetns[] } {
  const host = createNetns(t, "host");
  const containers = Array.from({ length: count }, () => createNetns(t, "ctr"));
  return { host, containers };
}

/**
 * Runs the Node script `script` (with `args`) inside `ns` until it prints "listening" (a server ready to answer).
 * It is killed at the test's teardown, or earlier by the function returned (as a pod's container dies when the
 * pod stops). `what` names it in the error when it does not start.
 */
export async function startListener(t: Teardownable, ns: Pick<TestNetns, "path">, script: string, args: readonly string[], what: string): Promise<() => void> {
  const child = spawn("nsenter", [`--net=${ns.path}`, "--", process.execPath, "-e", script, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { PATH: process.env["PATH"] ?? "/usr/bin" },
  });
  const kill = (): void => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(child.pid, "SIGKILL");
    } catch {
      // it ended in between
    }
  };
  t.teardown(kill);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), 60_000);
    child.stdout.on("data", (b: Buffer) => {
      if (b.toString().includes("listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return kill;
}
