// scripts/bench-cni: the whole CNI chain as containerd runs it for a pod (loopback, then the network), the Go
// reference plugins (Debian's /usr/lib/cni: loopback + bridge + host-local) against ours, in one run,
// interleaved: ADD, CHECK (with the ADD's result as prevResult) and DEL of every pod, at each concurrency.
// Modes: "go"; "ours" (dist/kubenet, no agent: the command runs in-process); "ours-agent" (the same executable
// with the agent's CNI service running on the default socket /run/kubenet/cni.sock, started here for that mode's
// phases only, and warmed with C unmeasured pods first: see warmAgent). Each mode has its own bridge and subnet.
// The loopback call: "ours" and "ours-agent" run the node's Go loopback (Debian's; the install keeps it with
// KEEP_EXISTING="loopback"), then our network. "ours-ourlo" and "ours-agent-ourlo" run our `loopback` too, through
// the service in the agent mode: that is the install's default, so "ours-agent-ourlo" is the chain as deployed.
// Run by scripts/bench.sh inside `unshare --net --mount` with tmpfs over /run: no trace on the machine.
//   node bench-cni.cjs --dist DIR --work DIR [--pods N] [--rounds N] [--c 1,8] [--modes go,ours,ours-agent,ours-agent-ourlo,ours-ourlo]
//                      [--variant NAME=PATH ...]   (another build of ours, e.g. the Node script, no agent)
//                      [--agent-variant NAME=PATH ...] (another client executable, served by the agent)
//                      [--agent PATH]              (the kubenet-agent to run; default DIST/kubenet-agent)

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { OPS, renderTable, type Op } from "./bench-cni-stats.js";
import { runRoundsWithAgents, startAgent, type AgentMode } from "./bench-cni-agent.js";
import { GO, arg, args, benchFlags, bridgeConf, loadText, runChain, type ChainMode } from "./bench-cni-driver.js";

const { dist, work, pods, rounds, concurrencies } = benchFlags(24);
const agentBin = resolve(arg("--agent", join(dist, "kubenet-agent")));

type Mode = ChainMode & AgentMode;

/** Whether this build's agent has the CNI service (its help lists --cni-socket). */
function agentServes(): boolean {
  try {
    return execFileSync(agentBin, ["--help"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).includes("--cni-socket");
  } catch (e) {
    return String((e as { stdout?: unknown }).stdout ?? "").includes("--cni-socket");
  }
}

function makeModes(): Mode[] {
  const wanted = arg("--modes", agentServes() ? "go,ours,ours-agent,ours-agent-ourlo" : "go,ours").split(",");
  if (!wanted.some((w) => w.startsWith("ours-agent"))) process.stderr.write("bench-cni: without ours-agent (this kubenet-agent has no --cni-socket)\n");
  const out: Mode[] = [];
  // ourLo: our loopback too (the executable's sibling link); otherwise the node's (Go's), which the install keeps.
  const ours = (name: string, bin: string, i: number, extra: Record<string, unknown> = {}, ourLo = name.endsWith("-ourlo")): Mode => ({
    name,
    loopback: ourLo ? join(bin, "..", "loopback") : join(GO, "loopback"),
    network: [{ bin, conf: bridgeConf(work, `bench-${name}`, "kubenet", `kbr${i}`, `10.${40 + i}.0.0/16`, extra) }],
    cniPath: join(bin, ".."),
  });
  if (wanted.includes("go")) out.push({ name: "go", loopback: join(GO, "loopback"), network: [{ bin: join(GO, "bridge"), conf: bridgeConf(work, "bench-go", "bridge", "gobr0", "10.30.0.0/16") }], cniPath: GO });
  for (const [i, name] of ["ours", "ours-ourlo"].entries()) if (wanted.includes(name)) out.push(ours(name, join(dist, "kubenet"), i * 2));
  for (const [i, name] of ["ours-agent", "ours-agent-ourlo"].entries()) {
    if (!wanted.includes(name)) continue;
    // The agent serves the network it renders (its bridge and PodCIDR); its conflist names the socket.
    const socket = "/run/kubenet/cni.sock"; // /run is a tmpfs of the bench sandbox
    const [bridge, cidr] = [`kbr${1 + i * 2}`, `10.${41 + i * 2}.0.0/16`];
    out.push({ ...ours(name, join(dist, "kubenet"), 1 + i * 2, { agentSocket: socket }), startAgent: () => startAgent(agentBin, work, socket, cidr, bridge) });
  }
  // Another client executable served by the agent (e.g. the Bun-compiled kubenet-full as the client), Go's loopback.
  for (const v of args("--agent-variant")) {
    const [name, bin] = v.split("=");
    if (name === undefined || bin === undefined) throw new Error(`--agent-variant NAME=PATH, got ${JSON.stringify(v)}`);
    const socket = "/run/kubenet/cni-variant.sock"; // one agent at a time: each mode's agent runs for its phases only
    const i = 10 + out.length;
    const [bridge, cidr] = [`kbr${i}`, `10.${40 + i}.0.0/16`];
    out.push({ ...ours(name, resolve(bin), i, { agentSocket: socket }, false), startAgent: () => startAgent(agentBin, work, socket, cidr, bridge) });
  }
  for (const v of args("--variant")) {
    const [name, bin] = v.split("=");
    if (name === undefined || bin === undefined) throw new Error(`--variant NAME=PATH, got ${JSON.stringify(v)}`);
    out.push(ours(name, resolve(bin), 4 + out.length, {}, true));
  }
  return out;
}

async function main(): Promise<void> {
  if (process.env["KUBENET_BENCH_SANDBOX"] !== "1") throw new Error("run through scripts/bench.sh cni (it sets up the sandbox)");
  for (const bin of [join(GO, "bridge"), join(dist, "kubenet")]) if (!existsSync(bin)) throw new Error(`${bin} is missing (apt-get install containernetworking-plugins; npm run build)`);
  mkdirSync(join(work, "leases"), { recursive: true });
  const modes = makeModes();
  const cells = await runRoundsWithAgents({ modes, ops: OPS, pods, rounds, concurrencies, tag: "b", chain: (m, op: Op, pod) => runChain(m, op, pod) });
  console.log(`\n${pods} pods x ${rounds} rounds per mode and concurrency; per pod = loopback + network, as containerd calls them; load average ${loadText()}\n`);
  console.log(renderTable(modes.map((m) => m.name), "go", concurrencies, cells));
  console.log("\nCPU per pod: user+sys of the plugin processes (and of the agent in the ours-agent modes); pods/s: throughput of a whole phase.");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
