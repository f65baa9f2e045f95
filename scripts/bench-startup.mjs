// Start-up of the plugin's runtime and packaging options, interleaved in one run, each under a clean
// environment as a runtime passes it: VERSION (no stdin read, no native code), a host-local ADD (IPAM: leases
// in a temp dir, koffi for the lock) and a loopback ADD (netlink: `lo` up in this process's netns, so run it
// inside `unshare --net`). Reports p50 wall ms and CPU ms (user+sys of the child, from /proc/self/stat's
// cutime+cstime) per executable, with `node -e 0` and `bun -e 0` as floors and the Go loopback as reference.
//   unshare --net node scripts/bench-startup.mjs [--runs N] [NAME=EXECUTABLE ...]
//   (default: dist/kubenet and dist/kubenet-full; host-local and loopback are run with that argv0, as their links)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const runs = argv.includes("--runs") ? Number(argv[argv.indexOf("--runs") + 1]) : 20;
const named = argv.filter((a) => a.includes("="));
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const bun = join(root, "node_modules", "bun", "bin", "bun.exe");

/** user+sys of reaped children so far, ms (USER_HZ = 100). */
function childCpuMs() {
  const s = readFileSync("/proc/self/stat", "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ").map(Number);
  return (f[13] + f[14]) * 10;
}

function timeRun(argvOf, env, input, argv0) {
  const c0 = childCpuMs();
  const t0 = performance.now();
  // argv0: the multi-call name (the executable picks the plugin by it), as a symlink of that name would give.
  const r = spawnSync(argvOf[0], argvOf.slice(1), { env: { PATH, ...env }, input, encoding: "utf8", argv0: argv0 ?? argvOf[0] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argvOf.join(" ")} ${env.CNI_COMMAND ?? ""} failed (${r.status}): ${r.stdout}${r.stderr}`);
  return { ms, cpu: childCpuMs() - c0 };
}

const dataDir = mkdtempSync(join(tmpdir(), "kubenet-bench-startup-"));
const hostLocalConf = JSON.stringify({ cniVersion: "1.0.0", name: "bench", type: "host-local", ipam: { type: "host-local", ranges: [[{ subnet: "10.99.0.0/16" }]], dataDir } });
const loConf = JSON.stringify({ cniVersion: "1.0.0", name: "lo", type: "loopback" });
let n = 0;
const cni = (command) => ({ CNI_COMMAND: command, CNI_CONTAINERID: `bench${n++}`, CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin" });

/** name -> list of [label, argv, env factory, stdin] */
const cases = [
  ["node -e 0", () => [["node", "-e", "0"], {}, ""]],
  ...(existsSync(bun) ? [["bun -e 0", () => [[bun, "-e", "0"], {}, ""]]] : []),
  ["Go loopback VERSION", () => [["/usr/lib/cni/loopback"], { CNI_COMMAND: "VERSION" }, ""]],
  ["Go loopback ADD", () => [["/usr/lib/cni/loopback"], { ...cni("ADD"), CNI_IFNAME: "lo" }, loConf]],
  ["Go host-local ADD", () => [["/usr/lib/cni/host-local"], cni("ADD"), hostLocalConf]],
];
// Default: the thin client (Duktape; with no CNI service here it hands every call to kubenet-full, so its rows
// are the no-agent path), and the full plugin alone.
const defaults = ["kubenet", "kubenet-full"].filter((f) => existsSync(join(root, "dist", f))).map((f) => `dist/${f}=${join(root, "dist", f)}`);
for (const spec of named.length > 0 ? named : defaults) {
  const [name, exe] = [spec.slice(0, spec.indexOf("=")), resolve(spec.slice(spec.indexOf("=") + 1))];
  const as = (n) => join(dirname(exe), n);
  cases.push([`${name} VERSION`, () => [[exe], { CNI_COMMAND: "VERSION" }, ""]]);
  cases.push([`${name} loopback ADD`, () => [[exe], { ...cni("ADD"), CNI_IFNAME: "lo" }, loConf, as("loopback")]]);
  cases.push([`${name} host-local ADD`, () => [[exe], cni("ADD"), hostLocalConf, as("host-local")]]);
}

const res = new Map(cases.map(([label]) => [label, { ms: [], cpu: [] }]));
for (const [, make] of cases) timeRun(...make()); // warm the page cache (and the native module caches)
for (let i = 0; i < runs; i++) {
  for (const [label, make] of cases) {
    const { ms, cpu } = timeRun(...make());
    res.get(label).ms.push(ms);
    res.get(label).cpu.push(cpu);
  }
}
rmSync(dataDir, { recursive: true, force: true });
const p50 = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const floor = p50(res.get("node -e 0").ms);
console.log(`| what | wall p50 ms | / node -e 0 | CPU ms (mean) |\n|---|---|---|---|`);
for (const [label, { ms, cpu }] of res) console.log(`| ${label} | ${p50(ms).toFixed(1)} | ${(p50(ms) / floor).toFixed(2)} | ${mean(cpu).toFixed(1)} |`);
console.log(`\n${runs} runs each, interleaved; clean environment (PATH only)`);
