// Many dist/host-local ADDs at once on one /24 (as a runtime starting pods in parallel): distinct
// addresses, one lease file each, no temp files left; then parallel DELs free everything.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { HOST_LOCAL_BIN, describeRun, runPluginAsync } from "../support/plugin-harness.js";
import { hlConf, leaseDir, resultIps, tempDir } from "./ipam-support.js";

const N = 100;
// The test machine may be heavily loaded (many processes on few CPUs): the point here is distinctness, not
// latency, so the lock timeout is the longest allowed. (100 waiters at once on 2 busy cores form a convoy:
// each handoff waits for the next waiter to get a CPU; at load 60 the last one waited over 120 s.)

t.test(`${N} parallel ADDs on one /24, then ${N} parallel DELs`, { timeout: 1_800_000 }, async (t) => {
  const dataDir = tempDir(t);
  const config = hlConf({ dataDir, ipam: { ranges: [[{ subnet: "10.70.0.0/24" }], [{ subnet: "fd70::/64" }]] }, extra: { lockTimeoutMs: 600_000 } });
  // 100 processes at once on a 2-core machine: a run is killed only when clearly stuck.
  const base = { netns: "/x", ifName: "eth0", path: "/opt/cni/bin", config, bin: HOST_LOCAL_BIN, timeoutMs: 600_000 };
  const started = performance.now();
  const adds = await Promise.all(Array.from({ length: N }, (_, i) => runPluginAsync({ ...base, command: "ADD", containerId: `par${i}` })));
  t.comment(`${N} parallel ADDs took ${Math.round(performance.now() - started)} ms`);
  const failed = adds.filter((r) => r.code !== 0);
  t.equal(failed.length, 0, failed.slice(0, 3).map(describeRun).join("\n"));
  const v4 = adds.map((r) => resultIps(r.json)[0]);
  const v6 = adds.map((r) => resultIps(r.json)[1]);
  t.equal(new Set(v4).size, N, "distinct IPv4 addresses");
  t.equal(new Set(v6).size, N, "distinct IPv6 addresses");
  const files = leaseDir(dataDir);
  adds.forEach((r, i) => t.equal(files[resultIps(r.json)[0]!], `par${i}\r\neth0`));
  t.notOk(readdirSync(join(dataDir, "ipamnet")).some((f) => f.startsWith(".")), "no temp files left");
  const dels = await Promise.all(Array.from({ length: N }, (_, i) => runPluginAsync({ ...base, command: "DEL", containerId: `par${i}` })));
  t.equal(dels.filter((r) => r.code !== 0).length, 0);
  t.same(Object.keys(leaseDir(dataDir)), ["last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
});

t.test("parallel ADDs into a /28: exactly the free addresses are handed out, the rest fail with 100", async (t) => {
  const dataDir = tempDir(t);
  const config = hlConf({ dataDir, ipam: { subnet: "10.71.0.0/28" }, extra: { lockTimeoutMs: 600_000 } }); // .2-.14: 13 addresses
  const runs = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      runPluginAsync({ command: "ADD", containerId: `x${i}`, netns: "/x", ifName: "eth0", path: "/opt/cni/bin", config, bin: HOST_LOCAL_BIN, timeoutMs: 600_000 }),
    ),
  );
  const ok = runs.filter((r) => r.code === 0);
  t.equal(ok.length, 13);
  t.equal(new Set(ok.flatMap((r) => resultIps(r.json))).size, 13);
  for (const r of runs.filter((r) => r.code !== 0)) t.equal((r.json as { code: number }).code, 100, describeRun(r));
});
