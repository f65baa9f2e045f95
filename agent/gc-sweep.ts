// agent/gc-sweep: the agent's leaked-lease sweep. Every --gc-interval, and soon after a check finds a pod range
// exhausted (all addresses leased: the next pod would fail with "no IP addresses available"), it runs the
// plugin's own `kubenet gc --json`, the same code an operator runs (plugin and agent never import each other;
// the release logic lives once, in the plugin), and counts what it released in /metrics. Off without a CRI
// endpoint: leaks are only judged when the runtime answers. Async; exec and readdir are injected.

import { sizeOf, type IpNet } from "../core/ip.js";
import { parseGcReport, type GcReport } from "../core/cri/gc-report.js";
import type { ExecFn } from "./exec.js";
import { describeError, type Logger } from "./log.js";
import type { Metrics } from "./metrics.js";

export interface GcSweepConfig {
  readonly criEndpoint: string;
  readonly gcIntervalMs: number;
  /** The plugin executable (`kubenet`). */
  readonly plugin: string;
  readonly cniConfDir: string;
  /** <ipamDataDir>/<network>: where the exhaustion check counts leases. */
  readonly leaseDir: string;
  /** How often the exhaustion check runs (the resync interval). */
  readonly checkIntervalMs: number;
}

export interface GcSweepDeps {
  readonly exec: ExecFn;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** IP-named entries of a directory ([] when it does not exist). */
  readonly listLeases: (dir: string) => Promise<string[]>;
  /** The node's PodCIDR(s) now (undefined until known). */
  readonly podCidrs: () => readonly IpNet[] | undefined;
  readonly now?: () => number;
}

const M = {
  sweeps: ["kubenet_agent_gc_sweeps_total", "Leaked-lease sweeps (kubenet gc) by trigger and result."],
  released: ["kubenet_agent_gc_released_total", "Leaked attachments (lease, host veth, rules) released by the sweep."],
  failed: ["kubenet_agent_gc_release_failures_total", "Leaked attachments the sweep could not release."],
} as const;

/** Addresses the plugin can lease in a PodCIDR: all but the network address, the gateway (.1) and IPv4 broadcast. */
export function leasableCount(cidr: IpNet): bigint {
  const size = sizeOf(cidr);
  const reserved = cidr.addr.family === 4 ? 3n : 2n;
  return size > reserved ? size - reserved : 0n;
}

export class GcSweeper {
  readonly #c: GcSweepConfig;
  readonly #d: GcSweepDeps;
  #running: Promise<GcReport | undefined> | undefined;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(config: GcSweepConfig, deps: GcSweepDeps) {
    this.#c = config;
    this.#d = deps;
    for (const trigger of ["interval", "exhausted"]) {
      for (const result of ["ok", "failed", "no_runtime"]) deps.metrics.declare(M.sweeps[0], "counter", M.sweeps[1], { trigger, result });
    }
    deps.metrics.declare(M.released[0], "counter", M.released[1]);
    deps.metrics.declare(M.failed[0], "counter", M.failed[1]);
  }

  /** Runs `kubenet gc`; concurrent calls share one run. */
  sweep(trigger: "interval" | "exhausted"): Promise<GcReport | undefined> {
    this.#running ??= this.#sweep(trigger).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #sweep(trigger: "interval" | "exhausted"): Promise<GcReport | undefined> {
    this.#lastSweep = (this.#d.now ?? Date.now)();
    const args = ["gc", "--json", "--conf-dir", this.#c.cniConfDir, "--cri-endpoint", this.#c.criEndpoint];
    try {
      const r = await this.#d.exec(this.#c.plugin, args, { timeoutMs: 300_000 });
      const report = parseGcReport(r.stdout);
      const failed = report.outcomes.filter((o) => o.action === "failed");
      const result = !report.runtimeAnswered ? "no_runtime" : failed.length > 0 ? "failed" : "ok";
      this.#d.metrics.inc(M.sweeps[0], M.sweeps[1], { trigger, result });
      this.#d.metrics.inc(M.released[0], M.released[1], {}, report.released);
      this.#d.metrics.inc(M.failed[0], M.failed[1], {}, failed.length);
      for (const o of report.outcomes.filter((x) => x.action === "released")) {
        this.#d.log.info("Released a leaked attachment", { containerId: o.containerId, ifName: o.ifName, ips: o.ips.join(","), trigger });
      }
      for (const o of failed) this.#d.log.warn("Could not release a leaked attachment", { containerId: o.containerId, error: o.detail });
      if (!report.runtimeAnswered) this.#d.log.debug("GC sweep: the runtime did not answer; nothing judged", { endpoint: this.#c.criEndpoint });
      return report;
    } catch (err) {
      this.#d.metrics.inc(M.sweeps[0], M.sweeps[1], { trigger, result: "failed" });
      this.#d.log.warn("GC sweep failed", { plugin: this.#c.plugin, error: describeError(err) });
      return undefined;
    }
  }

  /** True when some PodCIDR has every leasable address leased. */
  async exhausted(): Promise<boolean> {
    const cidrs = this.#d.podCidrs();
    if (cidrs === undefined || cidrs.length === 0) return false;
    const leases = await this.#d.listLeases(this.#c.leaseDir);
    return cidrs.some((c) => {
      const used = leases.filter((ip) => (c.addr.family === 4) === !ip.includes(":")).length;
      return BigInt(used) >= leasableCount(c);
    });
  }

  /** The exhaustion check: sweeps at once when a range is full, at most once a minute. */
  async check(): Promise<void> {
    const now = (this.#d.now ?? Date.now)();
    if (now - this.#lastSweep < 60_000) return;
    if (await this.exhausted()) {
      this.#d.log.warn("A pod range is exhausted: sweeping leaked leases now", { leaseDir: this.#c.leaseDir });
      await this.sweep("exhausted");
    }
  }

  /** Runs until the signal aborts: the periodic sweep (when `periodic`) and the exhaustion check. */
  run(signal: AbortSignal, periodic = true): void {
    const timers = [
      ...(periodic ? [setInterval(() => void this.sweep("interval"), this.#c.gcIntervalMs)] : []),
      setInterval(() => void this.check().catch((e: unknown) => this.#d.log.debug("exhaustion check failed", { error: describeError(e) })), this.#c.checkIntervalMs),
    ];
    for (const t of timers) t.unref();
    signal.addEventListener("abort", () => timers.forEach((t) => clearInterval(t)), { once: true });
  }
}
