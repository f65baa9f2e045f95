import t from "tap";
import { parseCidr } from "../core/ip-parse.js";
import type { ExecFn } from "./exec.js";
import { GcSweeper, leasableCount } from "./gc-sweep.js";
import { createLogger } from "./log.js";
import { Metrics } from "./metrics.js";
import { defaultPluginPath } from "./start-gc.js";

const report = (released: number, runtimeAnswered = true, failed = 0): string => JSON.stringify({
  dryRun: false, runtimeAnswered, released,
  outcomes: [
    ...Array.from({ length: released }, (_, i) => ({ containerId: `c${i}`, ifName: "eth0", ips: [`10.0.0.${i + 2}`], action: "released", detail: "" })),
    ...Array.from({ length: failed }, () => ({ containerId: "x", ifName: "eth0", ips: [], action: "failed", detail: "EBUSY" })),
  ],
});

function setup(stdout: string, leases: string[] = [], cidr = "10.0.0.0/29") {
  const calls: (readonly string[])[] = [];
  const exec: ExecFn = async (file, args) => {
    calls.push([file, ...args]);
    return { code: 0, stdout, stderr: "" };
  };
  const metrics = new Metrics();
  let now = 1_000_000;
  const sweeper = new GcSweeper(
    { criEndpoint: "unix:///cri.sock", gcIntervalMs: 600_000, plugin: "/opt/kubenet/bin/kubenet", cniConfDir: "/etc/cni/net.d", leaseDir: "/leases", checkIntervalMs: 60_000 },
    { exec, log: createLogger(() => undefined, "error"), metrics, listLeases: async () => leases, podCidrs: () => [parseCidr(cidr)], now: () => now },
  );
  return { sweeper, calls, metrics, advance: (ms: number) => (now += ms) };
}

t.test("a sweep runs `kubenet gc --json` and counts releases and failures", async (t) => {
  const s = setup(report(2, true, 1));
  await s.sweeper.sweep("interval");
  t.same(s.calls, [["/opt/kubenet/bin/kubenet", "gc", "--json", "--conf-dir", "/etc/cni/net.d", "--cri-endpoint", "unix:///cri.sock"]]);
  t.equal(s.metrics.get("kubenet_agent_gc_released_total"), 2);
  t.equal(s.metrics.get("kubenet_agent_gc_release_failures_total"), 1);
  t.equal(s.metrics.get("kubenet_agent_gc_sweeps_total", { trigger: "interval", result: "failed" }), 1);
  t.match(s.metrics.render(), /kubenet_agent_gc_released_total 2/);
});

t.test("no runtime answer and unparseable output are counted, never thrown", async (t) => {
  const a = setup(report(0, false));
  await a.sweeper.sweep("interval");
  t.equal(a.metrics.get("kubenet_agent_gc_sweeps_total", { trigger: "interval", result: "no_runtime" }), 1);
  const b = setup("kubenet: fatal: boom");
  t.equal(await b.sweeper.sweep("interval"), undefined);
  t.equal(b.metrics.get("kubenet_agent_gc_sweeps_total", { trigger: "interval", result: "failed" }), 1);
});

t.test("exhaustion: a full PodCIDR triggers a sweep, at most once a minute", async (t) => {
  t.equal(leasableCount(parseCidr("10.0.0.0/29")), 5n, "/29: 8 - network, gateway, broadcast");
  t.equal(leasableCount(parseCidr("10.0.0.0/24")), 253n);
  t.equal(leasableCount(parseCidr("fd00::/120")), 254n);
  const notFull = setup(report(0), ["10.0.0.2", "10.0.0.3"]);
  await notFull.sweeper.check();
  t.equal(notFull.calls.length, 0, "4 of 5 free: no sweep");
  const full = setup(report(1), ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "fd00::2"]);
  t.equal(await full.sweeper.exhausted(), true, "5 of 5 leased (the IPv6 lease does not count)");
  await full.sweeper.check();
  t.equal(full.calls.length, 1, "full: swept");
  t.equal(full.metrics.get("kubenet_agent_gc_sweeps_total", { trigger: "exhausted", result: "ok" }), 1);
  full.advance(30_000);
  await full.sweeper.check();
  t.equal(full.calls.length, 1, "not again within a minute");
  full.advance(31_000);
  await full.sweeper.check();
  t.equal(full.calls.length, 2, "again after a minute");
});

t.test("concurrent sweeps share one run", async (t) => {
  const s = setup(report(0));
  await Promise.all([s.sweeper.sweep("interval"), s.sweeper.sweep("exhausted")]);
  t.equal(s.calls.length, 1);
});

t.test("the plugin beside the agent", async (t) => {
  t.equal(defaultPluginPath({ execPath: "/opt/kubenet/bin/kubenet-agent", script: "/opt/kubenet/bin/kubenet-agent" }), "/opt/kubenet/bin/kubenet", "single executable");
  t.equal(defaultPluginPath({ execPath: "/usr/bin/node", script: "/srv/kubenet-ts/dist/kubenet-agent" }), "/srv/kubenet-ts/dist/kubenet", "bundle run by node");
});
