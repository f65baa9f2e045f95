// `kubenet status` and `kubenet gc` against a real containerd: leases leaked on purpose (a lease file for a
// sandbox that never existed; a pod removed while our DEL did nothing) are shown `leaked` and released by gc;
// gc never releases a pod's lease while the pod is alive, stopped, or still being created.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import type { AttachmentRow, Inventory } from "../../plugin/admin/inventory.js";
import type { GcReport } from "../../core/cri/gc-report.js";
import { DIST } from "../support/plugin-harness.js";
import { CONTAINERD_SKIP, startContainerd, type Containerd } from "./containerd-harness.js";
import { kubenetAdmin, podConfig, runPod, startNodeAgent, stopAndRemove } from "./pods.js";

const LEASE_DIR = "/var/lib/cni/networks/kubenet";
const NEVER_EXISTED = "f".repeat(64);

/** bin_dir for containerd: our executables, and a kubenet we can make skip DEL (as if it failed silently). */
function binDir(t: { teardown(fn: () => void): void }): { dir: string; breakDel(on: boolean): void } {
  const dir = mkdtempSync(join(tmpdir(), "kt-ctrd-bin-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const n of ["host-local", "loopback", "bridge"]) symlinkSync(join(DIST, n), join(dir, n));
  const wrapper = join(dir, "kubenet");
  const flag = join(dir, "skip-del");
  // exec keeps the name the plugin is invoked as (.../dist/kubenet, whether a compiled executable or a node script).
  writeFileSync(wrapper, `#!/bin/sh\nif [ "$CNI_COMMAND" = DEL ] && [ -e ${flag} ]; then cat >/dev/null; exit 0; fi\nexec ${join(DIST, "kubenet")}\n`);
  chmodSync(wrapper, 0o755);
  return { dir, breakDel: (on) => (on ? writeFileSync(flag, "") : rmSync(flag, { force: true })) };
}

const status = (ctrd: Containerd, extra: readonly string[] = []): Inventory => JSON.parse(kubenetAdmin(ctrd, ["status", "--json", ...extra])) as Inventory;
const gc = (ctrd: Containerd, extra: readonly string[] = []): GcReport => JSON.parse(kubenetAdmin(ctrd, ["gc", "--json", ...extra])) as GcReport;
const row = (inv: Inventory, id: string): AttachmentRow | undefined => inv.attachments.find((a) => a.containerId === id);

function leaseIps(ctrd: Containerd): string[] {
  return ctrd.run("ls", [LEASE_DIR]).stdout.split("\n").filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)).sort();
}

// containerd and pods on a loaded machine: minutes, not seconds (tap's default per-file limit is 300 s here).
t.setTimeout(20 * 60_000);

t.test("status shows pods and leaks; gc releases only the leaks, never a live, stopped or young pod's lease", { skip: CONTAINERD_SKIP }, async (t) => {
  const bin = binDir(t);
  const ctrd = await startContainerd(t, { binDir: bin.dir });
  const alive = await runPod(ctrd, "alive");
  const stopped = await runPod(ctrd, "stopped");
  await ctrd.cri.stopPodSandbox(stopped.id);
  const leaky = await runPod(ctrd, "leaky");
  bin.breakDel(true);
  await stopAndRemove(ctrd.cri, leaky.id);
  bin.breakDel(false);
  // A lease for a sandbox that never existed, old enough (an hour) to count.
  ctrd.exec("sh", ["-c", `printf '${NEVER_EXISTED}\\r\\neth0' > ${LEASE_DIR}/10.244.1.200 && touch -d '1 hour ago' ${LEASE_DIR}/10.244.1.200`]);

  const young = status(ctrd);
  t.equal(young.runtime.answered, true, "the runtime answered");
  t.same(young.podCidrs, ["10.244.1.0/24"], "the PodCIDR from the conflist in force");
  t.equal(young.bridge?.exists, true, "the bridge exists");
  t.equal(row(young, alive.id)?.runtime, "ready", "the live pod is ready in the runtime");
  t.equal(row(young, alive.id)?.vethExists, true, "the live pod's veth exists");
  t.equal(row(young, alive.id)?.netnsExists, true, "the live pod's netns exists");
  t.equal(row(young, stopped.id), undefined, "the stopped pod has no attachment (containerd's DEL released it)");
  t.equal(row(young, leaky.id)?.runtime, "unknown", "the removed pod is unknown to the runtime");
  t.equal(row(young, leaky.id)?.leaked, false, "its lease is younger than --min-age: not leaked yet");
  t.equal(row(young, NEVER_EXISTED)?.leaked, true, "the hour-old lease of a sandbox that never existed is leaked");
  t.equal(young.ranges[0]?.used, 3, "range: 3 used (alive, leaky, never-existed)");

  const all = status(ctrd, ["--min-age", "0"]);
  t.same(all.attachments.filter((a) => a.leaked).map((a) => a.containerId).sort(), [leaky.id, NEVER_EXISTED].sort(), "with --min-age 0: exactly the two leaks");
  t.equal(row(all, leaky.id)?.vethExists, false, "the leaked pod's veth went with its netns");

  const before = leaseIps(ctrd);
  const dry = gc(ctrd, ["--dry-run", "--min-age", "0"]);
  t.equal(dry.outcomes.filter((o) => o.action === "would-release").length, 2, "dry run names both leaks");
  t.same(leaseIps(ctrd), before, "dry run changes nothing");

  const report = gc(ctrd, ["--min-age", "0"]);
  t.equal(report.released, 2, "gc released both leaks");
  t.same(leaseIps(ctrd), alive.ips, "only the live pod's lease is left");
  t.same(status(ctrd, ["--min-age", "0"]).attachments.map((a) => a.containerId), [alive.id], "status: only the live pod");

  // The agent's periodic sweep runs the same gc: another old leak goes, the live pod's lease stays.
  ctrd.exec("sh", ["-c", `printf '${"e".repeat(64)}\\r\\neth0' > ${LEASE_DIR}/10.244.1.201 && touch -d '1 hour ago' ${LEASE_DIR}/10.244.1.201`]);
  const agent = startNodeAgent(t, ctrd, ["--static-pod-cidr", "10.244.1.0/24", "--cluster-cidr", "10.244.0.0/16", "--cni-conf-dir", ctrd.confDir,
    "--masq-config", "", "--listen", "127.0.0.1:9971", "--cri-endpoint", `unix://${ctrd.socket}`, "--gc-interval", "2s", "--gc-plugin", join(DIST, "kubenet")]);
  for (let i = 0; i < 600 && leaseIps(ctrd).includes("10.244.1.201"); i++) await new Promise((r) => setTimeout(r, 500));
  t.same(leaseIps(ctrd), alive.ips, "the agent's sweep released the leak and kept the live pod's lease");
  const metrics = ctrd.run("curl", ["-s", "http://127.0.0.1:9971/metrics"]).stdout;
  t.match(metrics, /^kubenet_agent_gc_released_total 1$/m, "/metrics counts the release");
  t.match(metrics, /^kubenet_agent_gc_sweeps_total\{trigger="interval",result="ok"\} [1-9]/m, "/metrics counts the sweeps");
  agent.kill("SIGTERM");

  await ctrd.cri.removePodSandbox(stopped.id);
  await stopAndRemove(ctrd.cri, alive.id);
  t.same(leaseIps(ctrd), [], "removing the pods leaves no lease");
});

t.test("gc during a RunPodSandbox (ADD blocked in a chained plugin) keeps the new pod's lease", { skip: CONTAINERD_SKIP }, async (t) => {
  const bin = binDir(t);
  const gate = join(bin.dir, "gate");
  mkdirSync(gate);
  // A chained plugin that passes prevResult through once the test opens the gate: the pod is mid-creation.
  writeFileSync(join(bin.dir, "gate-test"), `#!/bin/sh
if [ "$CNI_COMMAND" = ADD ]; then touch ${gate}/entered; while [ ! -e ${gate}/open ]; do sleep 0.1; done; fi
exec node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{const c=JSON.parse(s);if(process.env.CNI_COMMAND==="ADD")process.stdout.write(JSON.stringify({cniVersion:c.cniVersion,...c.prevResult}));else if(process.env.CNI_COMMAND==="VERSION")process.stdout.write(JSON.stringify({cniVersion:"1.0.0",supportedVersions:["0.3.0","0.3.1","0.4.0","1.0.0"]}))})'
`);
  chmodSync(join(bin.dir, "gate-test"), 0o755);
  const ctrd = await startContainerd(t, { binDir: bin.dir, editConflist: (doc) => void doc.plugins.push({ type: "gate-test" }) });

  const creating = ctrd.cri.runPodSandbox(podConfig(ctrd, "creating"));
  for (let i = 0; i < 1800 && !existsSync(join(gate, "entered")); i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(existsSync(join(gate, "entered")), "the pod's ADD reached the chained plugin (our plugin already leased an address)");
  const mid = status(ctrd);
  const row0 = mid.attachments[0];
  t.equal(mid.attachments.length, 1, "status sees the attachment being created");
  t.equal(row0?.leaked, false, `not leaked while being created (runtime: ${row0?.runtime})`);
  const report = gc(ctrd);
  t.equal(report.released, 0, "gc releases nothing");
  t.equal(leaseIps(ctrd).length, 1, "the lease is still there");
  writeFileSync(join(gate, "open"), "");
  const id = await creating;
  const pod = await ctrd.cri.podSandboxStatus(id);
  t.same(pod?.ips, leaseIps(ctrd), "the pod got the lease that gc left alone");
  t.equal(gc(ctrd, ["--min-age", "0"]).released, 0, "a ready pod's lease is never released, whatever its age");
  await stopAndRemove(ctrd.cri, id);
  t.same(leaseIps(ctrd), [], "nothing left");
});
