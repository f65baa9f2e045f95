// Shaping measured: a TCP stream into and out of a pod limited to 10 and 50 Mbit/s lands within +-15% of
// the limit, and an unlimited pod is not slowed. The rate of a TBF-shaped stream is set by the qdisc, not by
// the CPU (the limits are far below what a veth carries even on a loaded machine), and every measurement
// runs 10 s after a 2 s warm-up (slow start and the bucket's initial burst left out): this is a correctness
// test with a generous window, not a benchmark. Goodput is compared, so the TCP/IP/Ethernet headers
// (~4.5% of a 1514-byte frame, counted by the TBF) are inside the band.

import t from "tap";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { REPO_ROOT } from "../support/plugin-harness.js";
import { bandwidth } from "./bandwidth-support.js";
import { cni, containerId, kubenetConf, ok, resultIps, stripPrefix, tempDir } from "./datapath-support.js";

const METER = join(REPO_ROOT, "test", "support", "tcp-meter.mjs");
const SECONDS = 12;
const WARMUP = 2;

interface Meter {
  bytes: number;
  seconds: number;
  mbit: number;
}

/** Streams from `from` to `to` (address `toIp`) and returns what the receiver measured. */
async function stream(from: TestNetns, to: TestNetns, toIp: string, port: number): Promise<Meter> {
  const recv = spawn("nsenter", [`--net=${to.path}`, "--", process.execPath, METER, "recv", String(port), String(WARMUP)], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
  let out = "";
  recv.stdout.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    recv.stdout.on("data", () => out.includes("listening") && resolve());
    recv.on("exit", (code) => reject(new Error(`receiver exited (${code}) before listening`)));
  });
  const send = spawnSync("nsenter", [`--net=${from.path}`, "--", process.execPath, METER, "send", toIp, String(port), String(SECONDS)], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
  if (send.status !== 0) throw new Error(`sender failed: ${send.stderr}`);
  await new Promise<void>((resolve) => (recv.exitCode !== null ? resolve() : recv.on("exit", () => resolve())));
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`no measurement from the receiver: ${out}`);
  return JSON.parse(line) as Meter;
}

t.test("TCP into and out of shaped pods lands within +-15% of 10 and 50 Mbit/s; unlimited is not slowed", { skip: KERNEL_SKIP, timeout: 280_000 }, async (t) => {
  const { host, containers } = createTopology(t, 3);
  const [slow, fast, free] = containers as [TestNetns, TestNetns, TestNetns];
  const dataDir = tempDir(t);
  const conf = (extra: Record<string, unknown>): Record<string, unknown> => kubenetConf({ dataDir, subnet: "10.93.0.0/24", extra });
  const ipOf = (pod: TestNetns, extra: Record<string, unknown>): string =>
    stripPrefix(resultIps(ok(cni("ADD", { host, netns: pod.path, id: containerId(), config: conf(extra) })).json)[0] as string);
  // Bursts of 100,000 bits (12.5 KB): several full-size frames, a small fraction of a second at either rate.
  const slowIp = ipOf(slow, bandwidth(10, 10, 100_000));
  const fastIp = ipOf(fast, bandwidth(50, 50, 100_000));
  const freeIp = ipOf(free, {});
  const gw = "10.93.0.1"; // the host end: cbr0's gateway address

  const within = (m: Meter, limit: number, what: string): void => {
    const ratio = m.mbit / limit;
    t.ok(ratio > 0.85 && ratio < 1.15, `${what}: ${m.mbit.toFixed(2)} Mbit/s over ${m.seconds.toFixed(1)} s (limit ${limit}, ratio ${ratio.toFixed(3)})`);
  };
  within(await stream(host, slow, slowIp, 5001), 10, "into the 10 Mbit/s pod");
  within(await stream(slow, host, gw, 5002), 10, "out of the 10 Mbit/s pod");
  within(await stream(host, fast, fastIp, 5003), 50, "into the 50 Mbit/s pod");
  within(await stream(fast, host, gw, 5004), 50, "out of the 50 Mbit/s pod");
  const unlimited = await stream(host, free, freeIp, 5005);
  t.ok(unlimited.mbit > 1.5 * 50, `unlimited pod: ${unlimited.mbit.toFixed(0)} Mbit/s, well above every limit`);
});
