// test/containerd/pods: pods run the way kubelet runs them (RunPodSandbox with the labels, cgroup parent and
// Linux namespace options kubelet sends; Stop then Remove), and what a test needs to look at them: the
// sandbox's IPs and its pause PID from the verbose PodSandboxStatus, and ping between two pods' namespaces.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { NAMESPACE_MODE_CONTAINER, NAMESPACE_MODE_POD, type PodSandboxConfig, type PortMapping } from "../../core/cri/messages.js";
import type { CriClient } from "../../native/index.js";
import { join } from "node:path";
import type { Teardownable } from "../support/netns.js";
import { DIST } from "../support/plugin-harness.js";
import { CLEAN_PATH, type Containerd } from "./containerd-harness.js";

export interface Pod {
  readonly id: string;
  readonly name: string;
  readonly ips: readonly string[];
  /** The pause process (host PID namespace): its /proc/PID/ns/net is the pod's network namespace. */
  readonly pid: number;
}

export function podConfig(ctrd: Containerd, name: string, portMappings?: readonly PortMapping[]): PodSandboxConfig {
  const uid = randomUUID();
  return {
    metadata: { name, uid, namespace: "default", attempt: 0 },
    hostname: name,
    labels: { "io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": uid },
    ...(portMappings === undefined ? {} : { portMappings }),
    linux: { cgroupParent: ctrd.cgroupParent, networkMode: NAMESPACE_MODE_POD, pidMode: NAMESPACE_MODE_CONTAINER, ipcMode: NAMESPACE_MODE_POD },
  };
}

export async function describePod(cri: CriClient, id: string): Promise<Pod> {
  const status = await cri.podSandboxStatus(id, true);
  if (status === undefined) throw new Error(`sandbox ${id} unknown to the runtime`);
  // containerd's verbose status: {"pid": N, "netNamespaceClosed": false, "cniResult": {...}, ...}
  const info = JSON.parse(status.info["info"] ?? "{}") as { pid?: number };
  return { id, name: status.metadata.name, ips: status.ips, pid: info.pid ?? 0 };
}

export async function runPod(ctrd: Containerd, name: string, portMappings?: readonly PortMapping[]): Promise<Pod> {
  const id = await ctrd.cri.runPodSandbox(podConfig(ctrd, name, portMappings));
  return describePod(ctrd.cri, id);
}

export async function stopAndRemove(cri: CriClient, id: string): Promise<void> {
  await cri.stopPodSandbox(id);
  await cri.removePodSandbox(id);
}

/** One ping from inside `from`'s network namespace (generous wait: the machine is loaded). */
export function ping(from: Pod, to: string): boolean {
  const r = spawnSync("nsenter", ["-t", String(from.pid), "-n", "--", "ping", "-c", "1", "-W", "10", to], { encoding: "utf8" });
  return r.status === 0;
}

/** The operator commands (`kubenet status`, `kubenet gc`) on the node, against this containerd, with no agent to ask; stdout. */
export function kubenetAdmin(ctrd: Containerd, args: readonly string[]): string {
  const r = ctrd.run(join(DIST, "kubenet"), [...args, "--conf-dir", ctrd.confDir, "--cri-endpoint", `unix://${ctrd.socket}`,
    "--agent-url", "http://127.0.0.1:1/healthz", "--timeout", "60s"]);
  if (r.status !== 0) throw new Error(`kubenet ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `kubenet-agent run ARGS` on the node (containerd's network and mount namespaces), SIGKILLed at teardown. */
export function startNodeAgent(t: Teardownable, ctrd: Containerd, args: readonly string[]): ChildProcess {
  const agent = spawn("nsenter", ["-t", String(ctrd.holderPid), "-n", "-m", "--", process.execPath, join(DIST, "kubenet-agent"), "run", ...args], {
    stdio: "ignore",
    env: { PATH: CLEAN_PATH },
  });
  t.teardown(() => void agent.kill("SIGKILL"));
  return agent;
}
