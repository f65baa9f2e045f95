// scripts/bench-ipam: many pods at once on one node, ours vs the Go reference, interleaved in the same run.
// Per round and per subnet (/24: every ADD fits; /25: 125 fit, the surplus must get "range exhausted"):
// N ADDs at concurrency C of dist/kubenet (the agent's kubenet config) and of Debian's /usr/lib/cni/bridge +
// host-local (the same datapath), then N DELs. Reports wall times, exit codes (lock timeouts are code 11),
// distinct addresses, what is left after the DELs, and the ratio ours/Go. No thresholds: timing is reported.
// Run by scripts/bench-ipam.sh inside `unshare --net --mount` (that sandbox namespace is the "host"; the pod
// namespaces live under a private /run/netns). Clean environment for every plugin run, as containerd passes.
//   node scripts/bench-ipam.mjs [--pods 200] [--concurrency 32] [--rounds 3]

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const PODS = arg("--pods", 200);
const CONCURRENCY = arg("--concurrency", 32);
const ROUNDS = arg("--rounds", 3);
const OURS = resolve("dist/kubenet");
const GO_DIR = "/usr/lib/cni";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

if (process.env["KUBENET_BENCH_SANDBOX"] !== "1") {
  console.error("bench-ipam: run it through scripts/bench-ipam.sh (it needs a throwaway network namespace)");
  process.exit(2);
}

function run(bin, env, stdin) {
  return new Promise((res) => {
    const child = spawn("env", ["-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), bin], { stdio: ["pipe", "pipe", "pipe"] });
    const out = [];
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", () => {});
    child.stdin.on("error", () => {});
    child.on("close", (code) => {
      let json;
      try {
        json = JSON.parse(Buffer.concat(out).toString("utf8"));
      } catch {
        json = undefined;
      }
      if (code !== 0 && process.env["BENCH_DEBUG"]) console.error(Buffer.concat(out).toString("utf8"));
      res({ code, json });
    });
    child.stdin.end(stdin);
  });
}

async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function config(impl, subnet, dataDir, bridge) {
  const ipam = { type: "host-local", ranges: [[{ subnet }]], dataDir };
  const common = { cniVersion: "1.0.0", bridge, mtu: 1460, hairpinMode: true, isGateway: true, isDefaultGateway: true, forceAddress: true };
  // Ours: the agent's config. Go: the same minus ipam.routes (its isDefaultGateway adds the default route
  // itself and then fails with EEXIST on a configured 0.0.0.0/0).
  return impl === "ours"
    ? // agentSocket "off": the plugin in-process, as the Go one runs (the machine's /run is not the sandbox's).
      { ...common, name: "kubenet", type: "kubenet", agentSocket: "off", ipam: { ...ipam, routes: [{ dst: "0.0.0.0/0" }] } }
    : { ...common, name: "gonet", type: "bridge", ipam };
}

const hostVeths = () => {
  const links = JSON.parse(execFileSync("ip", ["-j", "-d", "link", "show"], { encoding: "utf8" }));
  return links.filter((l) => l.linkinfo?.info_kind === "veth").length;
};
const leaseCount = (dir) => {
  try {
    return readdirSync(dir).filter((n) => /^[0-9.]+$/.test(n) && n.includes(".")).length;
  } catch {
    return 0;
  }
};

async function once(impl, prefix, pods, round) {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-ipam-"));
  const bridge = `b${impl === "ours" ? "k" : "g"}${prefix}r${round}`;
  const subnet = `10.${impl === "ours" ? 201 : 202}.${round}.0/${prefix}`;
  const conf = config(impl, subnet, dataDir, bridge);
  const stdin = JSON.stringify(conf);
  const bin = impl === "ours" ? OURS : join(GO_DIR, "bridge");
  const env = (cmd, p) => ({ PATH, CNI_COMMAND: cmd, CNI_CONTAINERID: p.id, CNI_NETNS: p.path, CNI_IFNAME: "eth0", CNI_PATH: GO_DIR });
  let t0 = performance.now();
  const adds = await pool(pods, CONCURRENCY, (p) => run(bin, env("ADD", p), stdin));
  const addS = (performance.now() - t0) / 1000;
  const codes = {};
  for (const r of adds) {
    const key = r.code === 0 ? "ok" : String(r.json?.code ?? `exit${r.code}`);
    codes[key] = (codes[key] ?? 0) + 1;
  }
  const ips = adds.filter((r) => r.code === 0).map((r) => r.json?.ips?.[0]?.address);
  t0 = performance.now();
  const dels = await pool(pods, CONCURRENCY, (p) => run(bin, env("DEL", p), stdin));
  const delS = (performance.now() - t0) / 1000;
  const leftLeases = leaseCount(join(dataDir, conf.name));
  const leftVeths = hostVeths();
  execFileSync("ip", ["link", "del", bridge], { stdio: "ignore" });
  rmSync(dataDir, { recursive: true, force: true });
  return {
    impl,
    prefix,
    addS,
    delS,
    codes,
    distinct: new Set(ips).size,
    ok: ips.length,
    delFailed: dels.filter((r) => r.code !== 0).length,
    leftLeases,
    leftVeths,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const names = Array.from({ length: PODS }, (_, i) => `bi-${i}`);
  execFileSync("ip", ["-batch", "-"], { input: names.map((n) => `netns add ${n}\n`).join("") });
  const pods = names.map((n, i) => ({ path: `/run/netns/${n}`, id: `${"b".repeat(48)}${String(i).padStart(16, "0")}` }));
  console.log(`${PODS} ADDs then ${PODS} DELs at concurrency ${CONCURRENCY}, ${ROUNDS} rounds, ours (${OURS}) vs Go (${GO_DIR}/bridge + host-local); load ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const prefix of [24, 25]) {
      // Alternate who goes first, so neither always meets a warmer (or busier) machine.
      const order = (round + prefix) % 2 === 0 ? ["ours", "go"] : ["go", "ours"];
      for (const impl of order) {
        const r = await once(impl, prefix, pods, round);
        results.push(r);
        console.log(
          `round ${round} /${prefix} ${impl.padEnd(4)} ADD ${r.addS.toFixed(2)} s  DEL ${r.delS.toFixed(2)} s  exits ${JSON.stringify(r.codes)}  ` +
            `distinct ${r.distinct}/${r.ok}  DEL failures ${r.delFailed}  left: ${r.leftLeases} leases, ${r.leftVeths} veths  (load ${loadavg()[0].toFixed(1)})`,
        );
      }
    }
  }
  for (const prefix of [24, 25]) {
    const of = (impl, k) => median(results.filter((r) => r.impl === impl && r.prefix === prefix).map((r) => r[k]));
    const timeouts = results.filter((r) => r.impl === "ours" && r.prefix === prefix).reduce((n, r) => n + (r.codes["11"] ?? 0), 0);
    console.log(
      `/${prefix} median: ADD ours ${of("ours", "addS").toFixed(2)} s vs Go ${of("go", "addS").toFixed(2)} s (x${(of("ours", "addS") / of("go", "addS")).toFixed(2)}); ` +
        `DEL ours ${of("ours", "delS").toFixed(2)} s vs Go ${of("go", "delS").toFixed(2)} s (x${(of("ours", "delS") / of("go", "delS")).toFixed(2)}); ours lock timeouts: ${timeouts}`,
    );
  }
  execFileSync("ip", ["-force", "-batch", "-"], { input: names.map((n) => `netns del ${n}\n`).join(""), stdio: ["pipe", "ignore", "ignore"] });
}

await main();
