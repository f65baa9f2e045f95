// scripts/bench-hostport: a pod with host ports (one TCP, one UDP) as containerd wires it, the Go reference
// chain (Debian's /usr/lib/cni: loopback + bridge + host-local, then portmap chained with the bridge's
// result) against ours: "ours" (the kubenet type with runtimeConfig.portMappings: one executable, no agent),
// "ours-agent" (the same through the agent's CNI service: `kubenet-agent run` serving the default socket,
// started for that mode's phases only and warmed with C unmeasured pods first, as in bench-cni) and
// "ours-dropin" (our bridge + portmap chained like the Go ones, no agent). The loopback call is the node's
// (Go's) in every mode, as the install keeps it (see bench-cni). In one run, interleaved: ADD and DEL of every
// pod at each concurrency (CHECK is not timed: see OPS). Each pod gets its own host ports. Run by
// scripts/bench.sh hostport inside `unshare --net --mount` with tmpfs over /run: no trace on the machine.
//   node bench-hostport.cjs --dist DIR --work DIR [--pods N] [--rounds N] [--c 1,8]
//                           [--modes go,ours,ours-agent,ours-dropin] [--agent PATH]

import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { runRoundsWithAgents, startAgent, type AgentMode } from "./bench-cni-agent.js";
import { renderTable, type Op } from "./bench-cni-stats.js";
import { GO, arg, benchFlags, bridgeConf, loadText, runChain, type ChainMode } from "./bench-cni-driver.js";

// ADD and DEL only: Debian's portmap (v1.1.1) fails every CHECK (it looks for the IPv4 rules through
// ip6tables), so CHECK cannot be timed side by side.
const OPS: readonly Op[] = ["ADD", "DEL"];

const { dist, work, pods, rounds, concurrencies } = benchFlags(16);
const agentBin = resolve(arg("--agent", join(dist, "kubenet-agent")));
/** The agent serves the default socket (a tmpfs of the sandbox): the thin client finds it as on a node. */
const AGENT_SOCKET = "/run/kubenet/cni.sock";

type Mode = ChainMode & AgentMode;

function makeModes(): Mode[] {
  const wanted = arg("--modes", "go,ours,ours-agent,ours-dropin").split(",");
  const loopback = join(GO, "loopback");
  const portmap = (dir: string, name: string) => ({ bin: join(dir, "portmap"), conf: { cniVersion: "1.0.0", name, type: "portmap", capabilities: { portMappings: true } } });
  const kubenet = (name: string, bridge: string, subnet: string, extra: Record<string, unknown> = {}) => ({ bin: join(dist, "kubenet"), conf: bridgeConf(work, name, "kubenet", bridge, subnet, extra) });
  const all: Mode[] = [
    { name: "go", cniPath: GO, loopback, network: [{ bin: join(GO, "bridge"), conf: bridgeConf(work, "hp-go", "bridge", "hpgo0", "10.30.0.0/16") }, portmap(GO, "hp-go")] },
    { name: "ours", cniPath: dist, loopback, network: [kubenet("hp-ours", "hpk0", "10.40.0.0/16")] },
    {
      name: "ours-agent",
      cniPath: dist,
      loopback,
      network: [kubenet("hp-agent", "hpa0", "10.42.0.0/16", { agentSocket: AGENT_SOCKET })],
      startAgent: () => startAgent(agentBin, work, AGENT_SOCKET, "10.42.0.0/16", "hpa0"),
    },
    { name: "ours-dropin", cniPath: dist, loopback, network: [{ bin: join(dist, "bridge"), conf: bridgeConf(work, "hp-drop", "bridge", "hpd0", "10.41.0.0/16") }, portmap(dist, "hp-drop")] },
  ];
  return all.filter((m) => wanted.includes(m.name));
}

let podIndex = 0;
const portsOf = new Map<string, number>();

/** A pod's chain with its own two host ports in every network plugin's runtimeConfig (as libcni passes them). */
function chain(mode: Mode, op: Op, pod: string): Promise<void> {
  if (!portsOf.has(pod)) portsOf.set(pod, 20000 + 2 * podIndex++);
  const hp = portsOf.get(pod) as number;
  const runtimeConfig = { portMappings: [{ hostPort: hp, containerPort: 80, protocol: "tcp" }, { hostPort: hp + 1, containerPort: 53, protocol: "udp" }] };
  return runChain(mode, op, pod, { runtimeConfig });
}

async function main(): Promise<void> {
  if (process.env["KUBENET_BENCH_SANDBOX"] !== "1") throw new Error("run through scripts/bench.sh hostport (it sets up the sandbox)");
  for (const bin of [join(GO, "portmap"), join(dist, "portmap")]) if (!existsSync(bin)) throw new Error(`${bin} is missing (apt-get install containernetworking-plugins; npm run build)`);
  mkdirSync(join(work, "leases"), { recursive: true });
  const modes = makeModes();
  const cells = await runRoundsWithAgents({ modes, ops: OPS, pods, rounds, concurrencies, tag: "h", chain });
  console.log(`\n${pods} pods x ${rounds} rounds per mode and concurrency, each pod with a TCP and a UDP host port; per pod = loopback (Go's) + network (+ portmap chained for go and ours-dropin); load average ${loadText()}\n`);
  console.log(renderTable(modes.map((m) => m.name), "go", concurrencies, cells, OPS));
  console.log("\nCPU per pod: user+sys of the plugin processes (and of the agent and the tools it ran, in ours-agent); pods/s: throughput of a whole phase.");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
