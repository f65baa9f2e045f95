// scripts/bench-bandwidth: a shaped pod's whole CNI chain, the Go reference against ours, in one run,
// interleaved: ADD, CHECK (prevResult = the ADD's result) and DEL of every pod at each concurrency, every pod
// limited to 10 Mbit/s in and 50 Mbit/s out (runtimeConfig.bandwidth, as containerd passes the annotations).
// Modes: "go" = Debian's loopback + bridge + bandwidth (a conflist of two plugins: three executables per
// pod); "ours" = loopback + the `kubenet` type shaping itself (two); "ours-chain" = our bridge + our
// `bandwidth` drop-in, the same chain as go's. Run by scripts/bench.sh bandwidth inside `unshare --net --mount`.
//   node bench-bandwidth.cjs --dist DIR --work DIR [--pods N] [--rounds N] [--c 1,8] [--modes go,ours,ours-chain]

import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { OPS, renderTable } from "./bench-cni-stats.js";
import { GO, arg, benchFlags, bridgeConf, loadText, runChain, runRounds, type ChainMode, type Plugin } from "./bench-cni-driver.js";

const { dist, work, pods, rounds, concurrencies } = benchFlags(16);
const LIMITS = { bandwidth: { ingressRate: 10_000_000, ingressBurst: 1_000_000, egressRate: 50_000_000, egressBurst: 1_000_000 } };

const bandwidthStep = (bin: string, name: string): Plugin => ({ bin, conf: { cniVersion: "1.0.0", name, type: "bandwidth", runtimeConfig: LIMITS } });

function makeModes(): ChainMode[] {
  const all: ChainMode[] = [
    { name: "go", cniPath: GO, loopback: join(GO, "loopback"), network: [{ bin: join(GO, "bridge"), conf: bridgeConf(work, "bw-go", "bridge", "gobr0", "10.30.0.0/16") }, bandwidthStep(join(GO, "bandwidth"), "bw-go")] },
    { name: "ours", cniPath: dist, loopback: join(dist, "loopback"), network: [{ bin: join(dist, "kubenet"), conf: bridgeConf(work, "bw-ours", "kubenet", "kbr0", "10.40.0.0/16", { runtimeConfig: LIMITS }) }] },
    { name: "ours-chain", cniPath: dist, loopback: join(dist, "loopback"), network: [{ bin: join(dist, "bridge"), conf: bridgeConf(work, "bw-chain", "bridge", "kbr1", "10.41.0.0/16") }, bandwidthStep(join(dist, "bandwidth"), "bw-chain")] },
  ];
  const wanted = arg("--modes", "go,ours,ours-chain").split(",");
  return all.filter((m) => wanted.includes(m.name));
}

const ifbCount = (): number => (JSON.parse(execFileSync("ip", ["-j", "link", "show", "type", "ifb"], { encoding: "utf8" }) || "[]") as unknown[]).length;

async function main(): Promise<void> {
  if (process.env["KUBENET_BENCH_SANDBOX"] !== "1") throw new Error("run through scripts/bench.sh bandwidth (it sets up the sandbox)");
  mkdirSync(join(work, "leases"), { recursive: true });
  const modes = makeModes();
  const cells = await runRounds({
    modes,
    ops: OPS,
    pods,
    rounds,
    concurrencies,
    tag: "w",
    chain: runChain,
    after: (m) => {
      if (ifbCount() !== 0) throw new Error(`${m.name}: ${ifbCount()} IFB devices left after DEL`);
    },
  });
  console.log(`\n${pods} shaped pods (10 Mbit/s in, 50 out) x ${rounds} rounds per mode and concurrency; per pod = loopback + network chain; load average ${loadText()}\n`);
  console.log(renderTable(modes.map((m) => m.name), "go", concurrencies, cells));
  console.log("\nCPU per pod: user+sys of the plugin processes; pods/s: throughput of a whole phase. No IFB was left after any DEL phase.");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
