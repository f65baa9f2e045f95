// Smoke tests of the agent as a single executable (dist/sea/kubenet-agent, `npm run build:sea`), copied into a
// directory of its own, run with no node on PATH and no node_modules: `run --once` in static mode converges a
// throwaway "node" namespace, and in Kubernetes mode the embedded @kubernetes/client-node (a SEA asset,
// compiled on first use) lists the Node from the fake API server.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import type { SyncReport } from "../../agent/sync/report.js";
import { KERNEL_SKIP, createNetns, type Teardownable, type TestNetns } from "../support/netns.js";
import { DIST } from "../support/plugin-harness.js";
import { natTable, sysctl, tempDir } from "./agent-harness.js";
import { FakeApiServer, kubeconfigFor, linkNodeToApi } from "./fake-apiserver.js";

const SEA_AGENT = join(DIST, "sea", "kubenet-agent");
// Under scripts/test.sh, which builds the SEA for these tests, a missing executable fails instead of skipping.
const SKIP: string | false = KERNEL_SKIP || (existsSync(SEA_AGENT) || process.env["KUBENET_SEA_REQUIRED"] === "1" ? false : `${SEA_AGENT} is absent: run \`npm run build:sea\` (scripts/test.sh builds it for kernel runs)`);

t.test("the single executable was built", { skip: SKIP }, async (t) => {
  t.ok(existsSync(SEA_AGENT), `${SEA_AGENT} exists (npm run build:sea)`);
});

interface Install {
  readonly bin: string;
  readonly dir: string;
  /** nsenter, env, iptables & co. (/usr/sbin) but no node. */
  readonly PATH: string;
}

function install(t: Teardownable): Install {
  const root = tempDir(t, "kt-sea-agent-");
  const binDir = join(root, "bin");
  const pathDir = join(root, "path");
  mkdirSync(binDir);
  mkdirSync(pathDir);
  copyFileSync(SEA_AGENT, join(binDir, "kubenet-agent"));
  chmodSync(join(binDir, "kubenet-agent"), 0o755);
  for (const tool of ["nsenter", "env"]) symlinkSync(execFileSync("which", [tool], { encoding: "utf8" }).trim(), join(pathDir, tool));
  return { bin: join(binDir, "kubenet-agent"), dir: root, PATH: `${pathDir}:/usr/sbin:/sbin` };
}

/** `kubenet-agent run --once ARGS` inside `ns`, asynchronously (a fake API server in this process must answer meanwhile). */
function runOnce(ns: TestNetns, inst: Install, args: readonly string[]): Promise<{ code: number | null; report: SyncReport; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=${ns.path}`, "--", "env", "-i", `PATH=${inst.PATH}`, `TMPDIR=${inst.dir}`, inst.bin, "run", "--once", ...args], {
      cwd: inst.dir,
      env: { PATH: inst.PATH },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString("utf8")));
    child.stderr.on("data", (b: Buffer) => (err += b.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, report: JSON.parse(out) as SyncReport, stderr: err });
      } catch {
        reject(new Error(`kubenet-agent --once printed no report (exit ${code}): ${out}\n${err}`));
      }
    });
  });
}

t.test("static mode: --once converges a fresh namespace", { skip: SKIP }, async (t) => {
  const inst = install(t);
  t.notOk(existsSync(join(inst.PATH.split(":")[0] as string, "node")));
  const ns = createNetns(t, "node");
  const dir = tempDir(t);
  mkdirSync(join(dir, "net.d"));
  const r = await runOnce(ns, inst, [
    "--static-pod-cidr", "10.244.9.0/24", "--cluster-cidr", "10.244.0.0/16", "--cni-conf-dir", join(dir, "net.d"),
    "--ipam-data-dir", join(dir, "ipam"), "--masq-config", "",
  ]);
  t.equal(r.code, 0, r.stderr);
  t.ok(r.report.ok, JSON.stringify(r.report));
  t.ok(natTable(ns).chains.includes("KUBENET-MASQ"), "masquerade chain written");
  t.equal(sysctl(ns, "net.ipv4.ip_forward"), "1");
  const conf = JSON.parse(readFileSync(join(dir, "net.d", "05-kubenet.conflist"), "utf8")) as { plugins: { ipam: { ranges: unknown } }[] };
  t.same(conf.plugins[0]?.ipam.ranges, [[{ subnet: "10.244.9.0/24", gateway: "10.244.9.1" }]]);
  t.equal(lstatSync(join(inst.dir, "bin", ".kubenet-native")).mode & 0o777, 0o700, "koffi cached beside the executable");
});

t.test("Kubernetes mode: --once lists the Node through the embedded client", { skip: SKIP }, async (t) => {
  const inst = install(t);
  const ns = createNetns(t, "node");
  const dir = tempDir(t);
  // node netns <-veth-> this sandbox namespace, where the fake API server listens.
  const apiAddr = linkNodeToApi(t, ns);
  const api = new FakeApiServer();
  api.patchPodCidrs("node-1", ["10.244.7.0/24"]);
  const addr = await api.listen(apiAddr);
  t.teardown(() => api.close());
  writeFileSync(join(dir, "kubeconfig"), kubeconfigFor(addr));
  mkdirSync(join(dir, "net.d"));

  const r = await runOnce(ns, inst, [
    "--kubeconfig", join(dir, "kubeconfig"), "--node-name", "node-1", "--cluster-cidr", "10.244.0.0/16",
    "--cni-conf-dir", join(dir, "net.d"), "--ipam-data-dir", join(dir, "ipam"), "--masq-config", "",
  ]);
  t.equal(r.code, 0, r.stderr);
  t.ok(r.report.ok && r.report.ready, JSON.stringify(r.report));
  t.notMatch(r.stderr, /single-executable|Cannot find module/, "no module-loading warnings");
  t.ok(api.requests.some((q) => q.path === "/api/v1/nodes" && q.status === 200), "listed the Node");
  const conf = JSON.parse(readFileSync(join(dir, "net.d", "05-kubenet.conflist"), "utf8")) as { plugins: { ipam: { ranges: unknown } }[] };
  t.same(conf.plugins[0]?.ipam.ranges, [[{ subnet: "10.244.7.0/24", gateway: "10.244.7.1" }]]);
});
