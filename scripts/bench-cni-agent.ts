// scripts/bench-cni-agent: the agent for bench-cni's "ours-agent" mode: `kubenet-agent run` with a static
// PodCIDR and its CNI service on a socket in the bench's work dir (inside the bench sandbox), until stopped.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface Agent {
  readonly pid: number;
  /** Resolves once the CNI socket exists; rejects when the agent exits first. */
  readonly ready: Promise<void>;
  /** SIGTERM, resolved once it exited (it removes its socket on the way out). */
  stop(): Promise<void>;
}

export function startAgent(agentBin: string, work: string, socket: string, podCidr: string, bridge: string): Agent {
  const argv = [
    "run",
    "--static-pod-cidr", podCidr,
    "--cluster-cidr", podCidr,
    "--bridge", bridge,
    "--cni-socket", socket,
    "--cni-conf-dir", join(work, "net.d"),
    "--ipam-data-dir", join(work, "leases"),
    "--masq-config", "",
    "--listen", "off",
    "--log-level", "warn",
  ];
  const child = spawn(agentBin, argv, { env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, stdio: ["ignore", "inherit", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
    process.stderr.write(b);
  });
  const ready = new Promise<void>((done, fail) => {
    const poll = setInterval(() => {
      if (existsSync(socket)) {
        clearInterval(poll);
        done();
      }
    }, 20);
    child.on("exit", (code) => {
      clearInterval(poll);
      fail(new Error(`kubenet-agent exited (${code}) before serving ${socket}: ${stderr.trim().split("\n").slice(-3).join(" ")}`));
    });
  });
  ready.catch(() => undefined); // awaited by the caller; this only keeps an early exit from counting as unhandled
  if (child.pid === undefined) throw new Error("kubenet-agent did not start");
  return {
    pid: child.pid,
    ready,
    stop: () =>
      new Promise<void>((done) => {
        child.removeAllListeners("exit");
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}
