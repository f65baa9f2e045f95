// Measures what a runtime waits for: 20 sequential ADD+DEL pairs of dist/kubenet with a clean environment
// (PATH + CNI_* only, like containerd), reporting the medians. The assertion is deliberately loose (a slow
// shared CI box must not fail it); the numbers are the point.

import t from "tap";
import { execFileSync } from "node:child_process";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { cni, containerId, kubenetConf, leases, ok, tempDir } from "./datapath-support.js";

const PAIRS = 20;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

t.test(`latency: ${PAIRS} ADD+DEL pairs`, { skip: KERNEL_SKIP }, async (t) => {
  const host = createNetns(t, "host");
  const pod = createNetns(t, "ctr");
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.85.0.0/24" });
  // The harness enters the host netns with nsenter; measure that cost to subtract it.
  const nsenterMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    execFileSync("nsenter", [`--net=${host.path}`, "true"]);
    nsenterMs.push(performance.now() - s);
  }
  // Warm-up (page cache, bridge creation) not counted.
  const warm = containerId();
  ok(cni("ADD", { host, netns: pod.path, id: warm, config }));
  ok(cni("DEL", { host, netns: pod.path, id: warm, config }));

  const add: number[] = [];
  const del: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const id = containerId();
    add.push(ok(cni("ADD", { host, netns: pod.path, id, config })).ms);
    del.push(ok(cni("DEL", { host, netns: pod.path, id, config })).ms);
  }
  t.same(leases(dataDir), []);
  const nsenter = median(nsenterMs);
  t.comment(
    `ADD median ${median(add).toFixed(1)} ms (min ${Math.min(...add).toFixed(1)}, max ${Math.max(...add).toFixed(1)}); ` +
      `DEL median ${median(del).toFixed(1)} ms; includes nsenter ~${nsenter.toFixed(1)} ms`,
  );
  t.ok(add.length > 0 && add.every((ms) => ms > 0), "every ADD measured (the numbers are informational: timing is no test)");
});
