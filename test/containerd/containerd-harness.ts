// test/containerd/containerd-harness: Debian's containerd + runc running pods through its CRI plugin, with our
// executables as its CNI plugins, in a throwaway world. A "holder" process (`unshare --net --mount`) owns a fresh
// network namespace and a private mount namespace with tmpfs over /run (containerd's run dir, shim sockets,
// runc state, /run/netns) and /var/lib (CNI leases, libcni's result cache), and over containerd's root and state
// dirs. containerd is started inside it with nsenter (execs in place: the PID we hold is containerd's), so a
// restart keeps the pods' namespaces. Pods' cgroups go under a dedicated parent (cgroups are not namespaced),
// removed at teardown; teardown also stops every process left in the holder's namespaces.

import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCri, type CriClient } from "../../native/index.js";
import type { Teardownable } from "../support/netns.js";
import { DIST } from "../support/plugin-harness.js";
import { buildPause, PAUSE_IMAGE, writePauseImage } from "./pause-image.js";

export const CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const CONTAINERD_SKIP: string | false =
  process.env["KUBENET_TEST_SANDBOX"] !== "1" || process.getuid?.() !== 0
    ? "containerd tests run only under scripts/test.sh as root"
    : !existsSync("/usr/bin/containerd") || !existsSync("/usr/sbin/runc")
      ? "containerd/runc not installed (scripts/ensure-deps.sh installs them)"
      : false;

export interface ContainerdOptions {
  /** CNI bin_dir (default: our dist/). */
  readonly binDir?: string;
  /** Conflist to install instead of the one our agent writes (the Go reference chain). */
  readonly conflist?: object;
  readonly podCidr?: string;
  /** Edits the conflist our agent wrote before containerd reads it (e.g. to chain a test plugin). */
  readonly editConflist?: (doc: { plugins: object[] }) => void;
}

export interface Containerd {
  readonly dir: string;
  readonly confDir: string;
  readonly socket: string;
  readonly holderPid: number;
  readonly cgroupParent: string;
  /** The CRI client of the running containerd (replaced on restart). */
  cri: CriClient;
  /** Runs a command inside the holder's network + mount namespaces. */
  run(cmd: string, args: readonly string[], env?: Record<string, string>): SpawnSyncReturns<string>;
  exec(cmd: string, args: readonly string[], env?: Record<string, string>): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Processes in the holder's network namespace other than the holder and containerd. */
  strayPids(): number[];
  /** Cgroup directories left below the dedicated parent (any hierarchy): pods' cgroups runc did not remove. */
  leftoverCgroups(): string[];
}

const nsInode = (pid: number, ns: string): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return undefined;
  }
};

function pidsInNetns(holderPid: number): number[] {
  const target = nsInode(holderPid, "net");
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number).filter((p) => nsInode(p, "net") === target);
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ")".
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop()?.split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Processes in the pods' cgroups (pause processes outlive a SIGKILLed shim). */
function cgroupPids(parent: string): number[] {
  const pids = new Set<number>();
  for (const d of cgroupRoots().flatMap((root) => listDirs(join(root, parent)))) {
    try {
      for (const p of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) pids.add(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return [...pids];
}

/**
 * The holder: mounts the tmpfs dirs, says "ready", then watches the test process. Should the test process die
 * without its teardown (killed by a runner timeout), the holder kills every process in the dedicated cgroups
 * (containerd and its shims are moved there at start; runc puts the pods there), removes the cgroups and the
 * temp dir: nothing of this world outlives the test, whatever happens to it. It kills by cgroup membership
 * only, never by scanning for processes, so nothing else on the machine can be hit.
 */
function holderScript(dir: string, cgroupParent: string): string {
  const parents = cgroupRoots().map((root) => join(root, cgroupParent)).join(" ");
  return `set -e
mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/lib && mount -t tmpfs tmpfs ${dir}/tmpfs
mkdir -p /run/netns /run/containerd && ip link set lo up
echo ready
set +e
while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
for round in 1 2 3 4 5 6 7 8 9 10; do
  pids=$(for p in ${parents}; do [ -d $p ] && find $p -name cgroup.procs -exec cat {} +; done 2>/dev/null)
  [ -z "$pids" ] && break
  kill -9 $pids 2>/dev/null
  sleep 1
done
for p in ${parents}; do [ -d $p ] && find $p -depth -type d -exec rmdir {} + 2>/dev/null; done
umount -l ${dir}/tmpfs; rm -rf ${dir}
`;
}

/** Moves containerd into <parent>/containerd of the pids hierarchy (else cgroup v2): its shims follow it there. */
function trackInCgroup(pid: number, cgroupParent: string): void {
  const roots = cgroupRoots();
  const root = roots.find((r) => r.endsWith("/pids")) ?? roots.find((r) => !/\/(cpu|cpuacct|cpuset|memory|devices|freezer|blkio|systemd|net_\w+|perf_event|hugetlb|rdma|misc)$/.test(r));
  if (root === undefined) return;
  const dir = join(root, cgroupParent, "containerd");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cgroup.procs"), String(pid));
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Cgroup v1 hierarchies and the v2 (unified) mount: each gets a `parent` directory from runc. */
function cgroupRoots(): string[] {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  return mounts.filter((l) => / - cgroup2? /.test(l)).map((l) => l.split(" ")[4] as string);
}

function configToml(dir: string, binDir: string, confDir: string, socket: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${dir}/tmpfs/root"
state = "${dir}/tmpfs/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  # runc cannot lower oom_score_adj on these machines: clamp the pause container's to containerd's own.
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
[${cri}.containerd]
  snapshotter = "native"
  default_runtime_name = "runc"
[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
[${cri}.cni]
  bin_dir = "${binDir}"
  conf_dir = "${confDir}"
  max_conf_num = 1
`;
}

/** Starts containerd with our CNI config in a throwaway world; everything is undone at the test's teardown. */
export async function startContainerd(t: Teardownable, options: ContainerdOptions = {}): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), "kt-ctrd-"));
  const confDir = join(dir, "net.d");
  const socket = join(dir, "containerd.sock");
  const tag = dir.slice(-6).replace(/[^a-zA-Z0-9]/g, "x");
  const cgroupParent = `/kubenet-e2e-${tag}`;
  mkdirSync(join(dir, "tmpfs"));
  mkdirSync(confDir);
  writeFileSync(join(dir, "config.toml"), configToml(dir, options.binDir ?? DIST, confDir, socket));
  const image = writePauseImage(dir, buildPause(dir));

  const holder = spawn("unshare", ["--net", "--mount", "--propagation", "private", "--", "sh", "-c", holderScript(dir, cgroupParent)], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once("data", () => resolve());
    holder.once("exit", (code) => reject(new Error(`namespace holder exited (${code}) before it was ready`)));
  });
  const holderPid = holder.pid as number;
  const run = (cmd: string, args: readonly string[], env: Record<string, string> = {}): SpawnSyncReturns<string> =>
    spawnSync("nsenter", ["-t", String(holderPid), "-n", "-m", "--", cmd, ...args], {
      encoding: "utf8",
      env: { PATH: CLEAN_PATH, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
  const exec = (cmd: string, args: readonly string[], env?: Record<string, string>): string => {
    const r = run(cmd, args, env);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}): ${r.stderr.trim()}`);
    return r.stdout;
  };

  let daemon: ChildProcess | undefined;
  const ctrd: Containerd = {
    dir, confDir, socket, holderPid, cgroupParent, run, exec,
    cri: undefined as unknown as CriClient,
    async start() {
      const log = openSync(join(dir, "containerd.log"), "a");
      daemon = spawn("nsenter", ["-t", String(holderPid), "-n", "-m", "--", "containerd", "--config", join(dir, "config.toml")], {
        stdio: ["ignore", log, log],
        env: { PATH: CLEAN_PATH },
      });
      closeSync(log);
      trackInCgroup(daemon.pid as number, cgroupParent);
      // kubelet's --runtime-request-timeout is 2m; a loaded machine needs more. containerd cancels the CNI exec
      // when the request's deadline passes, so a short one would kill our DEL halfway.
      ctrd.cri = await openCri(`unix://${socket}`, { timeoutMs: 600_000 });
      await waitForCri(ctrd.cri, daemon, dir);
    },
    async stop() {
      ctrd.cri?.close();
      if (daemon === undefined) return;
      daemon.kill("SIGTERM");
      if (!(await waitExit(daemon, 60_000))) {
        daemon.kill("SIGKILL");
        await waitExit(daemon, 10_000);
      }
      daemon = undefined;
    },
    strayPids: () => pidsInNetns(holderPid).filter((p) => p !== holderPid && p !== daemon?.pid && parentOf(p) !== holderPid),
    leftoverCgroups: () =>
      cgroupRoots().flatMap((root) => listDirs(join(root, cgroupParent)).slice(1).filter((d) => !d.endsWith(`${cgroupParent}/containerd`))),
  };

  t.teardown(async () => {
    await removeAllPods(ctrd);
    await ctrd.stop();
    for (const pid of [...ctrd.strayPids(), ...cgroupPids(cgroupParent)]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    holder.kill("SIGKILL");
    await waitExit(holder, 10_000);
    removeCgroups(cgroupParent);
    rmSync(dir, { recursive: true, force: true });
  });

  // The conflist is in place before containerd starts: its CNI config watcher never sees a half state.
  installConflist(ctrd, options);
  await ctrd.start();
  exec("ctr", ["--address", socket, "-n", "k8s.io", "images", "import", "--snapshotter", "native", image]);
  return ctrd;
}

async function waitForCri(cri: CriClient, daemon: ChildProcess, dir: string): Promise<void> {
  // Generous: containerd starts in ~1 s, but on a loaded machine it has taken much longer.
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await cri.version();
      return;
    } catch (e) {
      if (daemon.exitCode !== null || Date.now() > deadline) {
        const log = readFileSync(join(dir, "containerd.log"), "utf8").split("\n").slice(-20).join("\n");
        throw new Error(`containerd did not answer on its CRI socket (${String(e)}); log tail:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function installConflist(ctrd: Containerd, options: ContainerdOptions): void {
  if (options.conflist !== undefined) {
    writeFileSync(join(ctrd.confDir, "10-test.conflist"), JSON.stringify(options.conflist, null, 2));
    return;
  }
  // Our agent, once, in static mode: writes the conflist (and sysctls, masquerade rules) in the holder's netns.
  const cidr = options.podCidr ?? "10.244.1.0/24";
  ctrd.exec(process.execPath, [join(DIST, "kubenet-agent"), "run", "--once", "--static-pod-cidr", cidr,
    "--cluster-cidr", "10.244.0.0/16", "--cni-conf-dir", ctrd.confDir, "--masq-config", "", "--listen", "off"]);
  if (options.editConflist !== undefined) {
    const [name] = readdirSync(ctrd.confDir);
    const file = join(ctrd.confDir, name as string);
    const doc = JSON.parse(readFileSync(file, "utf8")) as { plugins: object[] };
    options.editConflist(doc);
    writeFileSync(file, JSON.stringify(doc, null, 2));
  }
}

async function removeAllPods(ctrd: Containerd): Promise<void> {
  try {
    for (const p of await ctrd.cri.listPodSandbox()) {
      await ctrd.cri.stopPodSandbox(p.id).catch(() => undefined);
      await ctrd.cri.removePodSandbox(p.id).catch(() => undefined);
    }
  } catch {
    // containerd is down: its shims are stopped with the rest of the holder's processes
  }
}

/** path and every directory below it. */
function listDirs(path: string): string[] {
  if (!existsSync(path)) return [];
  const subs = readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(path, d.name));
  return [path, ...subs.flatMap(listDirs)];
}

/** Removes the dedicated cgroup parent in every hierarchy (deepest first; an empty cgroup rmdirs). */
export function removeCgroups(parent: string): void {
  for (const root of cgroupRoots()) {
    const dirs = listDirs(join(root, parent)).sort((a, b) => b.length - a.length);
    for (const d of dirs) {
      try {
        rmdirSync(d);
      } catch {
        // still populated: the stray-process sweep ran first, so this is reported by leftoverCgroups()
      }
    }
  }
}
