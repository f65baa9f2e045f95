// Pod sandbox latency through Debian's containerd (CRI): RunPodSandbox, and Stop + Remove, for N pods with our
// plugin and with the Go reference chain (Debian's /usr/lib/cni bridge + host-local + loopback, the same
// network: bridge cbr0, gateway, hairpin, host-local over the same /24), in the same run, interleaved: one
// containerd per chain, each in its own throwaway world (test/containerd/containerd-harness.ts), pods created
// and removed alternately (ours, ref, ref, ours, ...) so that machine load hits both alike.
//   bash scripts/bench-containerd.sh [--pods 20]
// With dist/sea/kubenet built, the single executable runs as a third chain. Prints p50/p95 and ratios.

import { mkdtempSync, rmSync, symlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startContainerd, type Containerd } from "../test/containerd/containerd-harness.js";
import { podConfig, startNodeAgent } from "../test/containerd/pods.js";
import { percentile } from "./bench-cni-stats.js";
import { DIST, REF_PLUGIN_DIR } from "../test/support/plugin-harness.js";

const pods = Number(process.argv[process.argv.indexOf("--pods") + 1] ?? "") || 20;
const teardowns: (() => void | Promise<void>)[] = [];
const t = { teardown: (fn: () => void | Promise<void>) => void teardowns.push(fn) };

const REF_CONFLIST = {
  cniVersion: "1.0.0",
  name: "kubenet",
  plugins: [{
    type: "bridge", bridge: "cbr0", mtu: 1500, isGateway: true, isDefaultGateway: true, forceAddress: true, hairpinMode: true,
    // No ipam routes: with isDefaultGateway the reference adds the default route itself (a second one is EEXIST).
    ipam: { type: "host-local", ranges: [[{ subnet: "10.244.1.0/24", gateway: "10.244.1.1" }]] },
  }],
};

/** A temporary bin_dir of symlinks, name -> target, removed at the end. */
function binDir(prefix: string, links: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), `kt-bench-${prefix}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(dir, name));
  return dir;
}

/** As the install lays it out with KEEP_EXISTING="loopback" on a node that has the distribution's plugins. */
const nodeLoopbackBinDir = (): string => binDir("node-lo", { kubenet: join(DIST, "kubenet"), loopback: join(REF_PLUGIN_DIR, "loopback") });

/** kubenet and loopback (and the drop-in names) are the single executable. */
const seaBinDir = (): string => binDir("sea", Object.fromEntries(["kubenet", "loopback", "bridge", "host-local"].map((n) => [n, join(DIST, "sea", "kubenet")])));

interface Chain {
  readonly name: string;
  readonly ctrd: Containerd;
  readonly run: number[];
  readonly stop: number[];
  readonly ids: string[];
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const chains: Chain[] = [];
  const add = async (name: string, options: Parameters<typeof startContainerd>[1]): Promise<void> => {
    chains.push({ name, ctrd: await startContainerd(t, options), run: [], stop: [], ids: [] });
  };
  await add("kubenet-ts (dist/kubenet)", {});
  if (process.argv.includes("--with-agent")) {
    // As deployed (deploy/kubenet.yaml): our loopback and kubenet, both through the service; and with the node's
    // Go loopback kept (KEEP_EXISTING="loopback").
    for (const [name, options] of [["kubenet-ts + agent (as deployed)", {}], ["kubenet-ts + agent (node's loopback)", { binDir: nodeLoopbackBinDir() }]] as const) {
      await add(name, options);
      const c = chains[chains.length - 1] as Chain;
      // The agent's CNI service in the same world: the thin client in dist/kubenet hands requests to it.
      startNodeAgent(t, c.ctrd, ["--static-pod-cidr", "10.244.1.0/24", "--cni-conf-dir", c.ctrd.confDir, "--masq-config", "", "--listen", "off", "--cri-endpoint", "off"]);
      for (let i = 0; i < 600 && c.ctrd.run("test", ["-S", "/run/kubenet/cni.sock"]).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    }
  }
  await add("Go reference (bridge+host-local+loopback)", { binDir: REF_PLUGIN_DIR, conflist: REF_CONFLIST });
  if (existsSync(join(DIST, "sea", "kubenet"))) await add("kubenet-ts (single executable)", { binDir: seaBinDir() });
  // Warm-up (first exec of each binary, image snapshot): one pod per chain, not counted.
  for (const c of chains) {
    const id = await c.ctrd.cri.runPodSandbox(podConfig(c.ctrd, "warmup"));
    await c.ctrd.cri.stopPodSandbox(id);
    await c.ctrd.cri.removePodSandbox(id);
  }
  for (let i = 0; i < pods; i++) {
    const order = i % 2 === 0 ? chains : [...chains].reverse();
    for (const c of order) {
      let id = "";
      c.run.push(await timed(async () => (id = await c.ctrd.cri.runPodSandbox(podConfig(c.ctrd, `pod-${i}`)))));
      c.ids.push(id);
    }
  }
  for (let i = 0; i < pods; i++) {
    const order = i % 2 === 0 ? chains : [...chains].reverse();
    for (const c of order) {
      const id = c.ids[i] as string;
      c.stop.push(await timed(async () => {
        await c.ctrd.cri.stopPodSandbox(id);
        await c.ctrd.cri.removePodSandbox(id);
      }));
    }
  }
  const ref = chains.find((c) => c.name.startsWith("Go reference")) as Chain;
  console.log(`\n${pods} pods per chain through containerd ${(await ref.ctrd.cri.version()).runtimeVersion}, interleaved; ms`);
  console.log("chain                                        RunPodSandbox p50   p95    Stop+Remove p50   p95");
  for (const c of chains) {
    const cells = [percentile(c.run, 50), percentile(c.run, 95), percentile(c.stop, 50), percentile(c.stop, 95)].map((v) => v.toFixed(0).padStart(6));
    console.log(`${c.name.padEnd(44)} ${cells[0]} ${cells[1]}          ${cells[2]} ${cells[3]}`);
  }
  for (const c of chains.filter((x) => x !== ref)) {
    const r = (a: number[], b: number[], p: number): string => (percentile(a, p) / percentile(b, p)).toFixed(2);
    console.log(`${c.name} / Go reference: Run p50 ${r(c.run, ref.run, 50)}x p95 ${r(c.run, ref.run, 95)}x; Stop+Remove p50 ${r(c.stop, ref.stop, 50)}x p95 ${r(c.stop, ref.stop, 95)}x`);
  }
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const fn of teardowns.reverse()) await fn();
  });
