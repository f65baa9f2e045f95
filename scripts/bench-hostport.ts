// scripts/bench-hostport: a pod with host ports (one TCP, one UDP) as containerd wires it, the Go reference
// chain (Debian's /usr/lib/cni: loopback + bridge + host-local, then portmap chained with the bridge's
// result) against ours (loopback + the kubenet type with runtimeConfig.portMappings: one executable) and our
// drop-ins chained the same way (bridge + portmap). In one run, interleaved: ADD and DEL of every pod at
// each concurrency (CHECK is not timed: see OPS). Each pod gets its own host ports. Run by scripts/bench.sh hostport inside
// `unshare --net --mount` with tmpfs over /run: no trace on the machine.
//   node bench-hostport.cjs --dist DIR --work DIR [--pods N] [--rounds N] [--c 1,8] [--modes go,ours,ours-dropin]

import { existsSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { newCell, renderTable, type Cell, type Op } from "./bench-cni-stats.js";
import { GO, LOOPBACK_CONF, arg, benchFlags, bridgeConf, invoke, netns, phase } from "./bench-cni-driver.js";

// ADD and DEL only: Debian's portmap (v1.1.1) fails every CHECK (it looks for the IPv4 rules through
// ip6tables), so CHECK cannot be timed side by side; its rows stay empty.
const OPS: readonly Op[] = ["ADD", "DEL"];

const { dist, work, pods, rounds, concurrencies } = benchFlags(16);

interface Mode {
  readonly name: string;
  readonly dir: string;
  /** The network plugins in ADD order: [main] or [main, portmap]. */
  readonly chain: readonly { readonly bin: string; readonly conf: Record<string, unknown> }[];
}

function makeModes(): Mode[] {
  const wanted = arg("--modes", "go,ours,ours-dropin").split(",");
  const portmap = (dir: string, name: string) => ({ bin: join(dir, "portmap"), conf: { cniVersion: "1.0.0", name, type: "portmap", capabilities: { portMappings: true } } });
  const all: Mode[] = [
    { name: "go", dir: GO, chain: [{ bin: join(GO, "bridge"), conf: bridgeConf(work, "hp-go", "bridge", "hpgo0", "10.30.0.0/16") }, portmap(GO, "hp-go")] },
    { name: "ours", dir: dist, chain: [{ bin: join(dist, "kubenet"), conf: bridgeConf(work, "hp-ours", "kubenet", "hpk0", "10.40.0.0/16") }] },
    { name: "ours-dropin", dir: dist, chain: [{ bin: join(dist, "bridge"), conf: bridgeConf(work, "hp-drop", "bridge", "hpd0", "10.41.0.0/16") }, portmap(dist, "hp-drop")] },
  ];
  return all.filter((m) => wanted.includes(m.name));
}

/** The network's final result per (mode, pod) for CHECK and DEL (libcni's cache), and the loopback's. */
const results = new Map<string, { lo: unknown; net: unknown }>();
let podIndex = 0;
const portsOf = new Map<string, number>();

/** As libcni runs a conflist: ADD in order passing each result on; CHECK/DEL in reverse with the cached result. */
async function chain(mode: Mode, op: Op, pod: string): Promise<void> {
  const env = { CNI_COMMAND: op, CNI_CONTAINERID: pod, CNI_NETNS: `/run/netns/${pod}`, CNI_PATH: mode.dir, CNI_IFNAME: "eth0" };
  if (!portsOf.has(pod)) portsOf.set(pod, 20000 + 2 * podIndex++);
  const hp = portsOf.get(pod) as number;
  const runtimeConfig = { portMappings: [{ hostPort: hp, containerPort: 80, protocol: "tcp" }, { hostPort: hp + 1, containerPort: 53, protocol: "udp" }] };
  const key = `${mode.name}|${pod}`;
  const cached = results.get(key);
  const lo = await invoke(join(mode.dir, "loopback"), { ...env, CNI_IFNAME: "lo" }, op === "ADD" ? LOOPBACK_CONF : { ...LOOPBACK_CONF, prevResult: cached?.lo });
  let prev: unknown = op === "ADD" ? undefined : cached?.net;
  const plugins = op === "ADD" ? mode.chain : [...mode.chain].reverse();
  for (const p of plugins) {
    const conf = { ...p.conf, runtimeConfig, ...(prev !== undefined ? { prevResult: prev } : {}) };
    const out = await invoke(p.bin, env, conf);
    if (op === "ADD") prev = JSON.parse(out);
  }
  if (op === "ADD") results.set(key, { lo: JSON.parse(lo), net: prev });
  if (op === "DEL") results.delete(key);
}

async function main(): Promise<void> {
  if (process.env["KUBENET_BENCH_SANDBOX"] !== "1") throw new Error("run through scripts/bench.sh hostport (it sets up the sandbox)");
  for (const bin of [join(GO, "portmap"), join(dist, "portmap")]) if (!existsSync(bin)) throw new Error(`${bin} is missing (apt-get install containernetworking-plugins; npm run build)`);
  mkdirSync(join(work, "leases"), { recursive: true });
  const modes = makeModes();
  const cells = new Map<string, Cell>();
  const cell = (m: Mode, c: number, op: Op): Cell => {
    const k = `${m.name}|${c}|${op}`;
    if (!cells.has(k)) cells.set(k, newCell());
    return cells.get(k) as Cell;
  };
  const warm = modes.map((_, i) => `warmup${i}`);
  netns("add", warm);
  for (const [i, m] of modes.entries()) for (const op of OPS) await chain(m, op, warm[i] as string);
  netns("delete", warm);
  for (let r = 0; r < rounds; r++) {
    for (const c of concurrencies) {
      for (let i = 0; i < modes.length; i++) {
        const m = modes[(i + r) % modes.length] as Mode;
        const names = Array.from({ length: pods }, (_, p) => `h${r}c${c}${m.name.replace(/[^a-z0-9]/g, "")}p${p}`);
        netns("add", names);
        for (const op of OPS) await phase((pod) => chain(m, op, pod), names, c, cell(m, c, op));
        netns("delete", names);
      }
    }
    process.stderr.write(`round ${r + 1}/${rounds} done (load ${loadavg()[0]?.toFixed(1)})\n`);
  }
  console.log(`\n${pods} pods x ${rounds} rounds per mode and concurrency, each pod with a TCP and a UDP host port; per pod = loopback + network (+ portmap chained for go and ours-dropin); load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
  console.log(renderTable(modes.map((m) => m.name), "go", concurrencies, cells));
  console.log("\nCPU per pod: user+sys of the plugin processes; pods/s: throughput of a whole phase.");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
