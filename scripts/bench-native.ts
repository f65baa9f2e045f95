// scripts/bench-native: start-up cost of native/ and operations per second of the datapath requests.
// Run by scripts/bench.sh, which bundles this file and native/index.ts with esbuild (CJS, koffi external) and
// runs it inside `unshare --net --mount --propagation private` with a private /run/netns: every namespace
// used here is created inside that sandbox. Prints a small report; no thresholds, no asserts.
//   node bench-native.cjs --native <native.cjs bundle> [--runs N] [--ops N]

import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { IpNet } from "../core/ip.js";
import { openNetns, openRtnl } from "../native/index.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const nativeBundle = resolve(arg("--native", ""));
const runs = Number(arg("--runs", "21"));
const opsN = Number(arg("--ops", "1000"));
const cacheDir = dirname(nativeBundle);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;

// --- cold start, measured inside fresh processes (performance.now() counts from process start) ---

const PROBE = `
const boot = performance.now();
let t = performance.now();
const native = require(process.argv[2]);
const requireMs = performance.now() - t;
t = performance.now();
native.preloadNative();
const koffiMs = performance.now() - t;
t = performance.now();
const rtnl = native.openRtnl();
const socketMs = performance.now() - t;
t = performance.now();
rtnl.linkGet("lo");
const firstRequestMs = performance.now() - t;
rtnl.close();
process.stdout.write(JSON.stringify({ boot, requireMs, koffiMs, socketMs, firstRequestMs, loadedAt: performance.now() }));
`;

// What koffi's own entry point costs, against loading its prebuilt binary directly.
const KOFFI_PROBE = `
const t = performance.now();
const m = require(process.argv[2]);
const ms = performance.now() - t;
process.stdout.write(JSON.stringify({ ms, ok: typeof (m.default ?? m).load === "function" ? 1 : 0 }));
`;

function probe(script: string, args: readonly string[]): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) {
    // A clean environment: no NODE_OPTIONS, no CA bundle, nothing inherited that could slow node down.
    const r = spawnSync("env", ["-i", `PATH=${process.env["PATH"] ?? "/usr/bin:/bin"}`, process.execPath, script, ...args], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
    out.push(JSON.parse(r.stdout) as Record<string, number>);
  }
  return out;
}

/** "median (min)": the machine may be busy; the minimum shows the undisturbed cost. */
function col(rows: Record<string, number>[], key: string | ((r: Record<string, number>) => number)): string {
  const xs = rows.map((r) => (typeof key === "function" ? key(r) : (r[key] ?? NaN)));
  return `${fmt(median(xs))} (min ${fmt(Math.min(...xs))})`;
}

function coldStart(): void {
  const probeFile = join(cacheDir, "probe-native.cjs");
  writeFileSync(probeFile, PROBE);
  const rows = probe(probeFile, [nativeBundle]);
  console.log(`cold start of native/ (median and minimum of ${runs} fresh processes, env -i; load average ${loadavg()[0]?.toFixed(1)}):`);
  console.log(`  node boot until the first line          ${col(rows, "boot")}`);
  console.log(`  require(native bundle)                  ${col(rows, "requireMs")}`);
  console.log(`  koffi + libc binding (preloadNative)    ${col(rows, "koffiMs")}`);
  console.log(`  native loaded: require + koffi + libc   ${col(rows, (r) => (r["requireMs"] ?? 0) + (r["koffiMs"] ?? 0))}`);
  console.log(`  open one rtnl socket                    ${col(rows, "socketMs")}`);
  console.log(`  first request (linkGet lo)              ${col(rows, "firstRequestMs")}`);
  console.log(`  process start -> first answer           ${col(rows, "loadedAt")}`);

  const koffiFile = join(cacheDir, "probe-koffi.cjs");
  writeFileSync(koffiFile, KOFFI_PROBE);
  const viaIndex = probe(koffiFile, ["koffi"]);
  const arch = process.arch;
  const direct = probe(koffiFile, [`@koromix/koffi-linux-${arch}/linux_${arch}/koffi.node`]);
  console.log(`koffi alone (median of ${runs}):`);
  console.log(`  require("koffi") (index.cjs: ELF libc probe + node:util + dlopen)  ${col(viaIndex, "ms")}`);
  console.log(`  require(prebuilt koffi.node) directly (what native/ does)           ${col(direct, "ms")}`);
}

// --- operations per second, in namespaces created inside the sandbox ---

function rate(label: string, n: number, body: (i: number) => void): void {
  body(-1); // warm-up (first declarations, caches)
  const t0 = performance.now();
  for (let i = 0; i < n; i++) body(i);
  const ms = performance.now() - t0;
  console.log(`  ${label.padEnd(44)} ${(n / (ms / 1000)).toFixed(0).padStart(7)} /s   (${n} in ${ms.toFixed(0)} ms, ${((ms / n) * 1000).toFixed(0)} us each)`);
}

/** The same operations through `ip -batch` in the host namespace, for reference (kernel cost + iproute2). */
function ipBatch(label: string, n: number, lines: (i: number) => string[]): void {
  const input = Array.from({ length: n }, (_, i) => lines(i).join("\n")).join("\n") + "\n";
  const t0 = performance.now();
  execFileSync("ip", ["-n", "bench-host", "-batch", "-"], { input, stdio: ["pipe", "ignore", "inherit"] });
  const ms = performance.now() - t0;
  console.log(`  ${label.padEnd(44)} ${(n / (ms / 1000)).toFixed(0).padStart(7)} /s   (${n} in ${ms.toFixed(0)} ms, incl. starting ip)`);
}

function operations(): void {
  if (process.env["KUBENET_BENCH_SANDBOX"] !== "1") throw new Error("run through scripts/bench.sh (network sandbox)");
  const names = ["bench-host", "bench-ctr"];
  for (const n of names) execFileSync("ip", ["netns", "add", n]);
  try {
    const host = openRtnl({ netnsPath: "/run/netns/bench-host" });
    const ctrNs = openNetns("/run/netns/bench-ctr");
    const ctr = openRtnl({ netnsPath: ctrNs.path });
    const br = host.linkAddBridge({ name: "cbr0" });
    host.linkSetUp(br.index);
    console.log(`operations (one request = one kernel round trip; "ip -batch" = the same work done by iproute2 in one process):`);
    const vethN = Math.max(1, Math.floor(opsN / 4));
    const veths: number[] = [];
    rate("veth create, peer directly in the other netns", vethN, (i) => {
      const v = host.linkAddVeth({ name: `veth${i + 1}`, peerName: `eth${i + 1}`, peerNetnsFd: ctrNs.fd, mtu: 1500 });
      if (i >= 0) veths.push(v.index);
      else host.linkDel(v.index);
    });
    rate("veth delete", vethN, (i) => {
      if (i < 0) return;
      host.linkDel(veths[i] as number);
    });
    ipBatch("ip -batch: veth add (peer netns) + delete", vethN, (i) => [
      `link add veth${i} mtu 1500 type veth peer name eth${i} netns bench-ctr`,
      `link del veth${i}`,
    ]);
    const addr = (i: number): IpNet => ({ addr: { family: 4, value: 0x0a000000n + BigInt(((i + 1) * 4) | 1) }, prefixLen: 30 });
    rate("address add + delete (IPv4)", opsN, (i) => {
      host.addrAdd(br.index, addr(i));
      host.addrDel(br.index, addr(i));
    });
    ipBatch("ip -batch: address add + delete", opsN, (i) => [
      `addr add 10.${(i >> 8) & 255}.${i & 255}.1/30 dev cbr0`,
      `addr del 10.${(i >> 8) & 255}.${i & 255}.1/30 dev cbr0`,
    ]);
    host.addrAdd(br.index, { addr: { family: 4, value: 0xac100001n }, prefixLen: 16 });
    const dst = (i: number): IpNet => ({ addr: { family: 4, value: 0x0b000000n + (BigInt(i + 1) << 8n) }, prefixLen: 24 });
    rate("route add + delete (IPv4, via gateway)", opsN, (i) => {
      host.routeAdd({ dst: dst(i), gateway: { family: 4, value: 0xac100002n } });
      host.routeDel({ dst: dst(i) });
    });
    ipBatch("ip -batch: route add + delete", opsN, (i) => [
      `route add 12.${(i >> 8) & 255}.${i & 255}.0/24 via 172.16.0.2`,
      `route del 12.${(i >> 8) & 255}.${i & 255}.0/24`,
    ]);
    rate("linkGet (one request)", opsN, () => {
      host.linkGet("cbr0");
    });
    rate("linkList (dump, a handful of links)", opsN, () => {
      host.linkList();
    });
    ctr.close();
    ctrNs.close();
    host.close();
  } finally {
    for (const n of names) spawnSync("ip", ["netns", "del", n]);
  }
}

coldStart();
operations();
