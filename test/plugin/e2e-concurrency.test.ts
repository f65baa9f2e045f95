// End to end under load: 200 ADDs at concurrency 16 on one /24 (the first ADDs race to create cbr0 and put
// the gateway on it), then 200 DELs at concurrency 16 (32 and 32 in service mode). Heavy on a 2-core machine:
// one test, timed.

import t from "tap";
import { execFileSync } from "node:child_process";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { CNI_MODE, describeRun } from "../support/plugin-harness.js";
import { cniAsync, containerId, globalAddrs, kubenetConf, leases, pool, resultIps, stripPrefix, tempDir, vethNames } from "./datapath-support.js";

const PODS = Number(process.env["KUBENET_E2E_PODS"] ?? 200);
/** Through the agent's service: 32 at once (issue 7's bar: 200 distinct IPs, no error, no lock timeout). */
const CONCURRENCY = CNI_MODE === "service" ? 32 : 16;

t.test(`${PODS} ADDs at concurrency ${CONCURRENCY}, then ${PODS} DELs`, { skip: KERNEL_SKIP, timeout: 900_000 }, async (t) => {
  const host = createNetns(t, "host");
  // 200 pod namespaces made with one `ip -batch` (createNetns would spawn 400 processes).
  const names = Array.from({ length: PODS }, (_, i) => `cc-${process.pid}-${i}`);
  execFileSync("ip", ["-batch", "-"], { input: names.map((n) => `netns add ${n}\n`).join("") });
  t.teardown(() => {
    execFileSync("ip", ["-force", "-batch", "-"], { input: names.map((n) => `netns del ${n}\n`).join(""), stdio: ["pipe", "ignore", "ignore"] });
  });
  const pods = names.map((n) => ({ path: `/run/netns/${n}`, id: containerId() }));
  const dataDir = tempDir(t);
  const config = kubenetConf({ subnet: "10.99.0.0/24", dataDir });

  const t0 = performance.now();
  const adds = await pool(pods, CONCURRENCY, (p) => cniAsync("ADD", { host, netns: p.path, id: p.id, config }));
  const addMs = performance.now() - t0;
  const failed = adds.filter((r) => r.code !== 0);
  t.equal(failed.length, 0, `no ADD failed${failed[0] ? `: first failure ${describeRun(failed[0])}` : ""}`);
  const ips = adds.map((r) => resultIps(r.json)[0]);
  t.equal(new Set(ips).size, PODS, `${PODS} distinct addresses`);
  t.equal(leases(dataDir).length, PODS, `${PODS} leases`);
  t.equal(vethNames(host).length, PODS, `${PODS} host veths`);
  t.same(globalAddrs(host, "cbr0"), ["10.99.0.1/24"], "exactly one gateway address on cbr0 despite the race");
  const addLatencies = adds.map((r) => r.ms).sort((a, b) => a - b);

  const t1 = performance.now();
  const dels = await pool(pods, CONCURRENCY, (p) => cniAsync("DEL", { host, netns: p.path, id: p.id, config }));
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

  const median = addLatencies[Math.floor(addLatencies.length / 2)] ?? 0;
  const p95 = addLatencies[Math.floor(addLatencies.length * 0.95)] ?? 0;
  t.comment(
    `${PODS} ADDs @${CONCURRENCY}: ${(addMs / 1000).toFixed(1)} s (per ADD under load: median ${median.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms); ` +
      `${PODS} DELs @${CONCURRENCY}: ${(delMs / 1000).toFixed(1)} s; total ${((addMs + delMs) / 1000).toFixed(1)} s; addresses ${stripPrefix(ips.slice().sort()[0] ?? "")}..`,
  );
});
