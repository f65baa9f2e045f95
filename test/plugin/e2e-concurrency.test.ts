// End to end under load: 200 ADDs at concurrency 32 on one /24 (the first ADDs race to create cbr0 and put
// the gateway on it), then 200 DELs at concurrency 32; and the same on a /25, where the 75 ADDs beyond its 125
// addresses must fail with "range exhausted" (100). Correctness only: the default 60 s lock timeout must never
// expire (the lock is fair and short) however loaded the machine is, every address is distinct, nothing is
// left after the DELs. The timing (against the Go reference) is scripts/bench-ipam.sh's.

import t from "tap";
import { execFileSync } from "node:child_process";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { describeRun, errorOf, runPluginAsync } from "../support/plugin-harness.js";
import { containerId, globalAddrs, inv, kubenetConf, leases, pool, resultIps, stripPrefix, tempDir, vethNames, type TapTest } from "./datapath-support.js";

const PODS = Number(process.env["KUBENET_E2E_PODS"] ?? 200);
const CONCURRENCY = 32;
// A plugin run is only killed when it is clearly stuck: on a loaded 2-core machine one ADD among 32 can take
// tens of seconds of wall time without anything being wrong.
const RUN_TIMEOUT_MS = 600_000;

async function manyPods(t: TapTest, prefix: 24 | 25): Promise<void> {
  const host = createNetns(t, "host");
  // The pod namespaces made with one `ip -batch` (createNetns would spawn 2 processes each).
  const names = Array.from({ length: PODS }, (_, i) => `cc${prefix}-${process.pid}-${i}`);
  execFileSync("ip", ["-batch", "-"], { input: names.map((n) => `netns add ${n}\n`).join("") });
  t.teardown(() => {
    execFileSync("ip", ["-force", "-batch", "-"], { input: names.map((n) => `netns del ${n}\n`).join(""), stdio: ["pipe", "ignore", "ignore"] });
  });
  const pods = names.map((n) => ({ path: `/run/netns/${n}`, id: containerId() }));
  const dataDir = tempDir(t);
  const subnet = `10.99.${prefix}.0/${prefix}`;
  const capacity = prefix === 24 ? 253 : 125; // .2 up to broadcast - 1
  const fit = Math.min(PODS, capacity);
  const config = kubenetConf({ subnet, dataDir });
  const run = (command: string, p: { path: string; id: string }) =>
    runPluginAsync({ ...inv(command, { host, netns: p.path, id: p.id, config }), timeoutMs: RUN_TIMEOUT_MS });

  const t0 = performance.now();
  const adds = await pool(pods, CONCURRENCY, (p) => run("ADD", p));
  const addMs = performance.now() - t0;
  const ok = adds.filter((r) => r.code === 0);
  const failed = adds.filter((r) => r.code !== 0);
  const timeouts = failed.filter((r) => errorOf(r)?.code === 11);
  t.equal(timeouts.length, 0, `no lock timeout${timeouts[0] ? `: ${describeRun(timeouts[0])}` : ""}`);
  t.equal(ok.length, fit, `${fit} ADDs succeeded`);
  const other = failed.filter((r) => errorOf(r)?.code !== 100);
  t.equal(other.length, 0, `every failed ADD is "range exhausted" (100)${other[0] ? `: ${describeRun(other[0])}` : ""}`);
  t.equal(failed.length, PODS - fit, `${PODS - fit} ADDs beyond the range got 100`);
  const ips = ok.map((r) => resultIps(r.json)[0]);
  t.equal(new Set(ips).size, fit, `${fit} distinct addresses`);
  t.equal(leases(dataDir).length, fit, `${fit} leases`);
  t.equal(vethNames(host).length, fit, `${fit} host veths (a failed ADD leaves none)`);
  t.same(globalAddrs(host, "cbr0"), [`10.99.${prefix}.1/${prefix}`], "exactly one gateway address on cbr0 despite the race");

  const t1 = performance.now();
  const dels = await pool(pods, CONCURRENCY, (p) => run("DEL", p));
  const delMs = performance.now() - t1;
  const delFailed = dels.filter((r) => r.code !== 0);
  t.equal(delFailed.length, 0, `no DEL failed${delFailed[0] ? `: first failure ${describeRun(delFailed[0])}` : ""}`);
  t.same(leases(dataDir), [], "no lease left");
  t.same(vethNames(host), [], "no host veth left");
  // No address left in any pod namespace (sampled: every 10th pod, to keep the check cheap).
  const leftovers: string[] = [];
  for (let i = 0; i < PODS; i += 10) {
    const path = (pods[i] as { path: string }).path;
    const out = execFileSync("nsenter", [`--net=${path}`, "ip", "-j", "addr", "show", "scope", "global"], { encoding: "utf8" });
    const entries = JSON.parse(out) as { addr_info: unknown[] }[];
    if (entries.some((e) => e.addr_info.length > 0)) leftovers.push(path);
  }
  t.same(leftovers, [], "no global address left in the pod namespaces");
  t.comment(
    `/${prefix}: ${PODS} ADDs @${CONCURRENCY}: ${(addMs / 1000).toFixed(1)} s; ${PODS} DELs: ${(delMs / 1000).toFixed(1)} s (informational); ` +
      `addresses from ${stripPrefix(ips.slice().sort()[0] ?? "")}`,
  );
}

t.test(`${PODS} ADDs at concurrency ${CONCURRENCY} on a /24, then ${PODS} DELs`, { skip: KERNEL_SKIP, timeout: 3_600_000 }, (t) => manyPods(t, 24));
t.test(`${PODS} ADDs at concurrency ${CONCURRENCY} on a /25 (the surplus: 100), then ${PODS} DELs`, { skip: KERNEL_SKIP, timeout: 3_600_000 }, (t) =>
  manyPods(t, 25),
);
