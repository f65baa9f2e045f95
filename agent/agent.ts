// agent/agent: the node agent: PodCIDRs from the source -> desired state -> the reconcile steps of
// sync/steps.ts (bridge, sysctls, masquerade, FORWARD, conflist, host-gw routes), each comparing before it
// writes; plus the run loops, health and metrics. Async. Imports the agent's own modules and native/ through
// host.ts; all I/O seams arrive in AgentOptions, so the whole sync runs in-process against fakes
// (agent.test.ts) or for real inside a namespace. One failing step does not stop the others; the sync
// counts as good only when all succeeded.

import { formatCidr } from "../core/ip.js";
import { conflistCapabilities, healthzMaxAge, type AgentConfig } from "./config.js";
import { computeDesired, type DesiredState } from "./desired.js";
import type { AgentRtnl, HostDeps } from "./host.js";
import { describeError, type Logger } from "./log.js";
import { IptablesBackend } from "./masq/backend-choice.js";
import { MasqConfigFile } from "./masq/config-file.js";
import { Metrics } from "./metrics.js";
import { detectMtu } from "./reconcilers/mtu.js";
import { HostGw } from "./routes/host-gw.js";
import type { PeerSource } from "./sources/peers.js";
import { formatPodCidrs, samePodCidrs, type PodCidrs, type PodCidrSource } from "./sources/pod-cidrs.js";
import { SyncLoop } from "./sync-loop.js";
import { declareSyncMetrics, M } from "./sync/metrics.js";
import type { HealthReport, StepName, StepReport, SyncReport, SyncWrites } from "./sync/report.js";
import { StepLog } from "./sync/step-log.js";
import { bridgeStep, conflistStep, forwardStep, masqStep, sysctlsStep, type StepContext } from "./sync/steps.js";

export interface AgentOptions {
  readonly config: Omit<AgentConfig, "source">;
  readonly source: PodCidrSource & { readonly stats?: Readonly<Record<string, number>> };
  readonly host: HostDeps;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  /** The other nodes, for --routes host-gw. */
  readonly peers?: PeerSource;
}

/** One sync in progress: when it started, what it wrote, what each step reported. */
interface SyncRun {
  readonly started: number;
  readonly writes: SyncWrites;
  readonly steps: Partial<Record<StepName | "source", StepReport>>;
  podCidrs: PodCidrs | undefined;
}

export class Agent {
  readonly #config: Omit<AgentConfig, "source">;
  readonly #source: AgentOptions["source"];
  readonly #host: HostDeps;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly metrics: Metrics;
  readonly #iptables = new IptablesBackend();
  readonly #masqFile: MasqConfigFile;
  readonly #steps: StepLog;
  #lastGoodSync: number | undefined;
  #podCidrs: PodCidrs | undefined;
  #loop: SyncLoop | undefined;
  readonly #hostGw: HostGw | undefined;
  readonly #peers: PeerSource | undefined;

  constructor(options: AgentOptions) {
    this.#config = options.config;
    this.#source = options.source;
    this.#host = options.host;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.metrics = options.metrics ?? new Metrics();
    declareSyncMetrics(this.metrics);
    this.#masqFile = new MasqConfigFile(this.#config.masqConfigPath, this.#log);
    this.#steps = new StepLog(this.#log, this.metrics);
    this.#peers = options.peers;
    if (this.#config.routes === "host-gw") {
      if (options.peers === undefined) throw new Error("--routes host-gw needs a peer source");
      const host = this.#host;
      this.#hostGw = new HostGw({ source: options.peers, nodeName: this.#config.nodeName, openRtnl: () => host.openRtnl(), isErrno: host.isErrno, log: this.#log, metrics: this.metrics });
    }
  }

  /** Picks the iptables backend (once: never mixed afterwards) and whether --random-fully is usable. */
  init(): Promise<void> {
    return this.#iptables.init(this.#config, this.#host, this.#log, this.metrics);
  }

  /** The loop period: the masq config's resyncInterval when set, else --resync-interval. */
  resyncIntervalMs(): number {
    return this.#masqFile.config.resyncIntervalMs ?? this.#config.resyncIntervalMs;
  }

  /** Asks the running loop for a sync now (PodCIDR change). */
  trigger(): void {
    this.#loop?.trigger();
  }

  /**
   * Runs until `signal` aborts: the source in the background, a sync at once, then every resync interval
   * and after every PodCIDR change. Leaves the datapath as it is when it stops.
   */
  async run(signal: AbortSignal): Promise<void> {
    await this.init();
    const loop = new SyncLoop({ sync: () => this.sync(), intervalMs: () => this.resyncIntervalMs(), log: this.#log });
    this.#loop = loop;
    const sourceDone = this.#source.run(() => loop.trigger(), signal).catch((err: unknown) => {
      this.#log.error("PodCIDR source stopped", { error: describeError(err) });
    });
    // host-gw: a Node event re-plans the routes at once, without waiting for the whole sync.
    const hostGw = this.#hostGw;
    let routesDone: Promise<unknown> = Promise.resolve();
    if (hostGw !== undefined && this.#peers !== undefined) {
      const routes = new SyncLoop({ sync: () => this.#syncRoutes(hostGw), intervalMs: () => this.resyncIntervalMs(), log: this.#log });
      const peersDone = this.#peers.run(() => routes.trigger(), signal).catch((err: unknown) => {
        this.#log.error("Peer source stopped", { error: describeError(err) });
      });
      routesDone = Promise.all([routes.run(signal), peersDone]);
    }
    await loop.run(signal);
    await sourceDone;
    await routesDone;
  }

  /** One pass over every step; nothing is written before a PodCIDR is known. */
  async sync(): Promise<SyncReport> {
    const run: SyncRun = { started: this.#now(), writes: { iptablesRestores: 0, iptablesRules: 0, sysctls: 0, conflist: 0, bridge: 0, forward: 0, routes: 0 }, steps: {}, podCidrs: undefined };
    try {
      run.podCidrs = await this.#source.current();
    } catch (err) {
      run.steps.source = this.#steps.failed("source", err);
    }
    if (run.podCidrs === undefined) {
      if (run.steps.source === undefined) this.#log.debug("No PodCIDR assigned yet: not ready, nothing written");
      return this.#finish(run, false, undefined);
    }
    this.#notePodCidrs(run.podCidrs);
    await this.init();
    let rtnl: AgentRtnl;
    try {
      rtnl = this.#host.openRtnl();
    } catch (err) {
      run.steps.bridge = this.#steps.failed("bridge", err);
      run.steps.conflist = { ok: false, changed: false, details: ["skipped: no rtnetlink handle for MTU detection"], error: "skipped" };
      return this.#finish(run, true, undefined);
    }
    try {
      const mtu = this.#config.mtu ?? detectMtu(rtnl.linkList(), this.#config.bridgeName).mtu;
      this.metrics.set(M.mtu[0], M.mtu[1], mtu);
      await this.#masqFile.reload(this.#config.resyncIntervalMs);
      await this.#runSteps(run, rtnl, this.#desired(run.podCidrs, mtu));
      return this.#finish(run, true, mtu);
    } finally {
      rtnl.close();
    }
  }

  /** The steps, in order: the conflist comes last, once the bridge matches it. */
  async #runSteps(run: SyncRun, rtnl: AgentRtnl, desired: DesiredState): Promise<void> {
    const ctx: StepContext = { config: this.#config, host: this.#host, log: this.#log, metrics: this.metrics, steps: this.#steps, iptables: this.#iptables, writes: run.writes };
    const steps = run.steps;
    steps.bridge = bridgeStep(ctx, rtnl, desired);
    steps.sysctls = await sysctlsStep(ctx, desired);
    steps.masq = await masqStep(ctx, desired, this.#masqFile.error);
    if ((this.#config.forwardAccept ?? "on") === "on") steps.forward = await forwardStep(ctx, desired.podCidrs);
    steps.conflist = await conflistStep(ctx, desired, steps.bridge.ok);
    if (this.#hostGw !== undefined) {
      const r = await this.#syncRoutes(this.#hostGw);
      run.writes.routes = r.writes;
      steps.routes = r.report;
    }
  }

  #desired(podCidrs: PodCidrs, mtu: number): DesiredState {
    return computeDesired({
      podCidrs,
      clusterCidrs: this.#config.clusterCidrs,
      masq: this.#masqFile.config,
      mtu,
      randomFully: this.#iptables.randomFully,
      bridgeName: this.#config.bridgeName,
      masqChain: this.#config.masqChain,
      ipamDataDir: this.#config.ipamDataDir,
      cniVersion: this.#config.cniVersion,
      capabilities: conflistCapabilities(this.#config),
      agentSocket: this.#config.cniSocket ?? "off",
    });
  }

  /** Metrics, health and one log line for a finished sync (what changed at info, an unchanged node at debug). */
  #finish(run: SyncRun, ready: boolean, mtu: number | undefined): SyncReport {
    const { steps, writes } = run;
    const ok = ready && Object.values(steps).every((s) => s.ok);
    const durationMs = this.#now() - run.started;
    this.metrics.observe(M.duration[0], M.duration[1], durationMs / 1000);
    this.metrics.inc(M.syncs[0], M.syncs[1], { result: !ready ? "not_ready" : ok ? "success" : "failure" });
    if (ok) {
      this.#lastGoodSync = this.#now();
      this.metrics.set(M.lastGood[0], M.lastGood[1], Math.floor(this.#lastGoodSync / 1000));
    }
    this.metrics.set(M.ready[0], M.ready[1], ok ? 1 : 0);
    const report: SyncReport = { ready, ok, podCIDRs: (run.podCidrs ?? []).map(formatCidr), mtu, durationMs, writes, steps };
    if (Object.values(steps).some((s) => s.changed)) this.#log.info("Sync changed the node", { durationMs, podCIDRs: report.podCIDRs, ...changes(steps) });
    else this.#log.debug("Sync: node unchanged", { durationMs, ok });
    return report;
  }

  /** One host-gw run, from sync() or from the routes loop (a Node event): logged and counted the same way. */
  async #syncRoutes(hostGw: HostGw): Promise<{ writes: number; report: StepReport }> {
    const r = await hostGw.sync(this.#podCidrs);
    const report = r.ok ? this.#steps.succeeded("routes", r.writes > 0, r.details) : this.#steps.failed("routes", r.error, r.details);
    return { writes: r.writes, report };
  }

  #notePodCidrs(podCidrs: PodCidrs): void {
    if (samePodCidrs(this.#podCidrs, podCidrs)) return;
    this.#log.info("PodCIDR in effect", { podCIDRs: formatPodCidrs(podCidrs), previous: formatPodCidrs(this.#podCidrs) });
    this.#podCidrs = podCidrs;
    this.metrics.inc(M.podCidrChanges[0], M.podCidrChanges[1]);
    this.metrics.resetGauge(M.podCidr[0], M.podCidr[1]);
    for (const c of podCidrs) this.metrics.set(M.podCidr[0], M.podCidr[1], 1, { cidr: formatCidr(c), family: String(c.addr.family) });
  }

  /** The PodCIDR(s) in effect (undefined until known). */
  get podCidrs(): PodCidrs | undefined {
    return this.#podCidrs;
  }

  health(): HealthReport {
    const maxAgeMs = healthzMaxAge(this.#config, this.resyncIntervalMs());
    const podCIDRs = (this.#podCidrs ?? []).map(formatCidr);
    const base = { maxAgeSeconds: maxAgeMs / 1000, ready: this.metrics.get(M.ready[0]) === 1, podCIDRs, ...(this.#hostGw === undefined ? {} : { routes: this.#hostGw.health() }) };
    if (this.#lastGoodSync === undefined) {
      return { status: 503, body: { status: "never-synced", lastSuccessfulSync: null, ageSeconds: null, ...base } };
    }
    const ageMs = this.#now() - this.#lastGoodSync;
    const fresh = ageMs <= maxAgeMs;
    return {
      status: fresh ? 200 : 503,
      body: { status: fresh ? "ok" : "stale", lastSuccessfulSync: new Date(this.#lastGoodSync).toISOString(), ageSeconds: ageMs / 1000, ...base },
    };
  }

  /** Prometheus text; the source's watch counters are copied in at scrape time. */
  renderMetrics(): string {
    for (const [k, v] of Object.entries(this.#source.stats ?? {})) {
      this.metrics.setCounter(`kubenet_agent_node_watch_${snake(k)}_total`, `Kubernetes Node list/watch: ${k}.`, v);
    }
    for (const [k, v] of Object.entries(this.#peers?.stats ?? {})) {
      this.metrics.setCounter(`kubenet_agent_nodes_watch_${snake(k)}_total`, `Kubernetes list/watch of all Nodes (host-gw): ${k}.`, v);
    }
    return this.metrics.render();
  }
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function changes(steps: Partial<Record<string, StepReport>>): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const [k, s] of Object.entries(steps)) if (s !== undefined && s.details.length > 0 && s.changed) out[k] = s.details;
  return out;
}
