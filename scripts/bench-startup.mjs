// Start-up of the plugin as the bundled script (dist/kubenet, node from PATH) vs the single executable
// (dist/sea/kubenet): median wall time of VERSION and of a host-local ADD (IPAM only: leases in a temp dir,
// no network change), each run under a clean environment as a runtime passes it.
//   node scripts/bench-sea.mjs [runs] [executable...]     (default: 20 runs, dist/kubenet dist/sea/kubenet)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [runsArg, ...bins] = process.argv.slice(2);
const runs = Number(runsArg ?? 20);
const executables = bins.length > 0 ? bins.map((b) => resolve(b)) : [join(root, "dist", "kubenet"), join(root, "dist", "sea", "kubenet")];
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function timeRun(bin, env, input) {
  const t0 = performance.now();
  const r = spawnSync(bin, [], { env: { PATH, ...env }, input, encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${bin} ${env.CNI_COMMAND} failed (${r.status}): ${r.stdout}${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const exe of executables) {
  const dir = mkdtempSync(join(tmpdir(), "kubenet-bench-"));
  // host-local is picked by the invoked name, as a runtime would call it.
  const hostLocal = join(dirname(exe), "host-local");
  const conf = JSON.stringify({
    cniVersion: "1.0.0",
    name: "bench",
    type: "host-local",
    ipam: { type: "host-local", ranges: [[{ subnet: "10.99.0.0/16" }]], dataDir: dir },
  });
  timeRun(exe, { CNI_COMMAND: "VERSION" }, ""); // warm the page cache (and the SEA's native module cache)
  const version = [];
  const add = [];
  for (let i = 0; i < runs; i++) {
    version.push(timeRun(exe, { CNI_COMMAND: "VERSION" }, ""));
    add.push(timeRun(hostLocal, { CNI_COMMAND: "ADD", CNI_CONTAINERID: `bench${i}`, CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin" }, conf));
  }
  rmSync(dir, { recursive: true, force: true });
  const mb = (statSync(exe).size / 1e6).toFixed(1);
  console.log(`${exe.replace(`${root}/`, "")} (${mb} MB): VERSION ${median(version).toFixed(1)} ms, host-local ADD ${median(add).toFixed(1)} ms (median of ${runs})`);
}
