// agent/agent: the node agent's sync: PodCIDRs from the source -> desired state -> reconcilers (bridge,
// sysctls, masquerade, conflist), each comparing before it writes; plus health and metrics. Async.
// Imports the agent's own modules and native/ through host.ts; all I/O seams arrive in AgentOptions, so
// the whole sync runs in-process against fakes (agent.test.ts) or for real inside a namespace.
// One failing reconciler does not stop the others; the sync counts as good only when all succeeded.

import { readFile } from "node:fs/promises";
import { formatCidr, type IpFamily } from "../core/ip.js";
import { conflistCapabilities, healthzMaxAge, type AgentConfig } from "./config.js";
import { computeDesired, type DesiredState } from "./desired.js";
import type { HostDeps } from "./host.js";
import { describeError, type Logger } from "./log.js";
import { detectIptablesMode } from "./masq/backend.js";
import { DEFAULT_MASQ_CONFIG, parseMasqConfig, type MasqConfig } from "./masq/ip-masq-config.js";
import { supportsRandomFully, type Iptables, type IptablesMode } from "./masq/iptables.js";
import { syncMasq } from "./masq/sync-masq.js";
import { Metrics } from "./metrics.js";
import { syncBridge } from "./reconcilers/bridge.js";
import { syncConflist } from "./reconcilers/conflist.js";
import { detectMtu } from "./reconcilers/mtu.js";
import { syncSysctls } from "./reconcilers/sysctls.js";
import { formatPodCidrs, samePodCidrs, type PodCidrs, type PodCidrSource } from "./sources/pod-cidrs.js";
import { SyncLoop } from "./sync-loop.js";
import { FORWARD_CHAIN, syncForward } from "./masq/forward.js";
import { HostGw, type HostGwHealth } from "./routes/host-gw.js";
import type { PeerSource } from "./sources/peers.js";

export const STEPS = ["bridge", "sysctls", "masq", "conflist", "forward", "routes"] as const;
export type StepName = (typeof STEPS)[number];

export interface StepReport {
  readonly ok: boolean;
  readonly changed: boolean;
  /** What changed, or why the step was skipped. */
  readonly details: readonly string[];
  readonly error?: string;
}

/** The outcome of one sync; `kubenet-agent run --once` prints it. */
export interface SyncReport {
  /** A PodCIDR is known (else nothing was done). */
  readonly ready: boolean;
  /** Ready and every step succeeded. */
  readonly ok: boolean;
  readonly podCIDRs: readonly string[];
  readonly mtu: number | undefined;
  readonly durationMs: number;
  readonly writes: {
    readonly iptablesRestores: number;
    readonly iptablesRules: number;
    readonly sysctls: number;
    readonly conflist: number;
    readonly bridge: number;
    /** iptables-restore runs for the FORWARD chain. */
    readonly forward: number;
    /** host-gw routes added, replaced or deleted. */
    readonly routes: number;
  };
  readonly steps: Partial<Record<StepName | "source", StepReport>>;
}

export interface HealthReport {
  readonly status: 200 | 503;
  readonly body: {
    readonly status: "ok" | "stale" | "never-synced";
    readonly lastSuccessfulSync: string | null;
    readonly ageSeconds: number | null;
    readonly maxAgeSeconds: number;
    readonly ready: boolean;
    readonly podCIDRs: readonly string[];
    /** host-gw: our routes, the peers that get none (off-link ...) and why. */
    readonly routes?: HostGwHealth;
  };
}

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

const M = {
  syncs: ["kubenet_agent_syncs_total", "Syncs by result (success, failure, not_ready)."],
  stepErrors: ["kubenet_agent_sync_errors_total", "Failed reconcile steps by step."],
  duration: ["kubenet_agent_sync_duration_seconds", "Duration of a sync."],
  lastGood: ["kubenet_agent_last_successful_sync_timestamp_seconds", "Unix time of the last sync in which every step succeeded."],
  ready: ["kubenet_agent_ready", "1 when the node has a PodCIDR and the last sync succeeded."],
  restores: ["kubenet_agent_iptables_restores_total", "iptables-restore runs (writes), by IP family."],
  rules: ["kubenet_agent_iptables_rules_written_total", "Rules written by iptables-restore, by IP family."],
  sysctlWrites: ["kubenet_agent_sysctl_writes_total", "Sysctl writes (only when the value differed), by name."],
  conflistWrites: ["kubenet_agent_conflist_writes_total", "Writes of the CNI conflist (only when its content changed)."],
  bridgeChanges: ["kubenet_agent_bridge_changes_total", "Changes made to the bridge (address removed/added, MTU set)."],
  podCidr: ["kubenet_agent_pod_cidr_info", "The node's PodCIDR(s)."],
  mtu: ["kubenet_agent_pod_mtu", "The pod MTU written into the conflist."],
  brNetfilter: ["kubenet_agent_br_netfilter_loaded", "1 when br_netfilter is loaded (bridge-nf-call-* exist)."],
  shadowed: ["kubenet_agent_cni_config_shadowed", "1 when another CNI config file sorts before ours (the runtime would use it)."],
  iptablesInfo: ["kubenet_agent_iptables_info", "The iptables backend in use and whether --random-fully is used."],
  podCidrChanges: ["kubenet_agent_pod_cidr_changes_total", "Times the PodCIDR changed (including the first assignment)."],
} as const;

export class Agent {
  readonly #config: Omit<AgentConfig, "source">;
  readonly #source: AgentOptions["source"];
  readonly #host: HostDeps;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly metrics: Metrics;
  #mode: IptablesMode | undefined;
  #randomFully = false;
  readonly #iptables = new Map<IpFamily, Iptables>();
  /** The masq config text last parsed (undefined: file absent); #masqLoaded tells whether there was one. */
  #masqText: string | undefined;
  #masqLoaded = false;
  #masq: MasqConfig = DEFAULT_MASQ_CONFIG;
  #masqError: Error | undefined;
  #lastGoodSync: number | undefined;
  #podCidrs: PodCidrs | undefined;
  readonly #lastErrors = new Map<string, string>();
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
    for (const r of ["success", "failure", "not_ready"]) this.metrics.declare(M.syncs[0], "counter", M.syncs[1], { result: r });
    for (const s of STEPS) this.metrics.declare(M.stepErrors[0], "counter", M.stepErrors[1], { step: s });
    for (const f of ["4", "6"]) {
      this.metrics.declare(M.restores[0], "counter", M.restores[1], { family: f });
      this.metrics.declare(M.rules[0], "counter", M.rules[1], { family: f });
    }
    this.metrics.declare(M.conflistWrites[0], "counter", M.conflistWrites[1]);
    this.metrics.declare(M.bridgeChanges[0], "counter", M.bridgeChanges[1]);
    this.metrics.declare(M.podCidrChanges[0], "counter", M.podCidrChanges[1]);
    this.metrics.declare(M.ready[0], "gauge", M.ready[1]);
    this.#peers = options.peers;
    if (this.#config.routes === "host-gw") {
      if (options.peers === undefined) throw new Error("--routes host-gw needs a peer source");
      const host = this.#host;
      this.#hostGw = new HostGw({ source: options.peers, nodeName: this.#config.nodeName, openRtnl: () => host.openRtnl(), isErrno: host.isErrno, log: this.#log, metrics: this.metrics });
    }
  }

  /** Picks the iptables backend (once: never mixed afterwards) and whether --random-fully is usable. */
  async init(): Promise<void> {
    if (this.#mode !== undefined) return;
    if (this.#config.iptablesMode === "auto") {
      const decision = await detectIptablesMode(this.#host.exec);
      this.#mode = decision.mode;
      this.#log.info("iptables backend detected", { mode: decision.mode, reason: decision.reason });
    } else {
      this.#mode = this.#config.iptablesMode;
      this.#log.info("iptables backend set by flag", { mode: this.#mode });
    }
    for (const f of [4, 6] as const) this.#iptables.set(f, this.#host.createIptables(f, this.#mode));
    if (this.#config.randomFully === "auto") {
      try {
        const version = await (this.#iptables.get(4) as Iptables).version();
        this.#randomFully = supportsRandomFully(version);
        this.#log.info("iptables version", { version, randomFully: this.#randomFully });
      } catch (err) {
        this.#randomFully = false;
        this.#log.warn("Cannot read the iptables version: MASQUERADE without --random-fully", { error: describeError(err) });
      }
    } else {
      this.#randomFully = this.#config.randomFully === "on";
    }
    this.metrics.set(M.iptablesInfo[0], M.iptablesInfo[1], 1, { mode: this.#mode, random_fully: String(this.#randomFully) });
  }

  /** The loop period: the masq config's resyncInterval when set, else --resync-interval. */
  resyncIntervalMs(): number {
    return this.#masq.resyncIntervalMs ?? this.#config.resyncIntervalMs;
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

  async sync(): Promise<SyncReport> {
    const started = this.#now();
    const writes = { iptablesRestores: 0, iptablesRules: 0, sysctls: 0, conflist: 0, bridge: 0, forward: 0, routes: 0 };
    const steps: Partial<Record<StepName | "source", StepReport>> = {};
    let podCidrs: PodCidrs | undefined;
    try {
      podCidrs = await this.#source.current();
    } catch (err) {
      steps.source = this.#failed("source", err);
    }
    const finish = (ready: boolean, mtu: number | undefined): SyncReport => {
      const ok = ready && Object.values(steps).every((s) => s.ok);
      const durationMs = this.#now() - started;
      this.metrics.observe(M.duration[0], M.duration[1], durationMs / 1000);
      this.metrics.inc(M.syncs[0], M.syncs[1], { result: !ready ? "not_ready" : ok ? "success" : "failure" });
      if (ok) {
        this.#lastGoodSync = this.#now();
        this.metrics.set(M.lastGood[0], M.lastGood[1], Math.floor(this.#lastGoodSync / 1000));
      }
      this.metrics.set(M.ready[0], M.ready[1], ok ? 1 : 0);
      const report: SyncReport = { ready, ok, podCIDRs: (podCidrs ?? []).map(formatCidr), mtu, durationMs, writes, steps };
      const changed = Object.values(steps).some((s) => s.changed);
      // Log what changed once; an unchanged node logs at debug level only.
      if (changed) this.#log.info("Sync changed the node", { durationMs, podCIDRs: report.podCIDRs, ...changes(steps) });
      else this.#log.debug("Sync: node unchanged", { durationMs, ok });
      return report;
    };
    if (podCidrs === undefined) {
      if (steps.source === undefined) this.#log.debug("No PodCIDR assigned yet: not ready, nothing written");
      return finish(false, undefined);
    }
    this.#notePodCidrs(podCidrs);
    await this.init();

    let rtnl;
    try {
      rtnl = this.#host.openRtnl();
    } catch (err) {
      steps.bridge = this.#failed("bridge", err);
      steps.conflist = { ok: false, changed: false, details: ["skipped: no rtnetlink handle for MTU detection"], error: "skipped" };
      return finish(true, undefined);
    }
    try {
      let mtu = this.#config.mtu;
      if (mtu === undefined) {
        const decision = detectMtu(rtnl.linkList(), this.#config.bridgeName);
        mtu = decision.mtu;
      }
      this.metrics.set(M.mtu[0], M.mtu[1], mtu);
      await this.#reloadMasqConfig();
      const desired = computeDesired({
        podCidrs,
        clusterCidrs: this.#config.clusterCidrs,
        masq: this.#masq,
        mtu,
        randomFully: this.#randomFully,
        bridgeName: this.#config.bridgeName,
        masqChain: this.#config.masqChain,
        ipamDataDir: this.#config.ipamDataDir,
        cniVersion: this.#config.cniVersion,
        capabilities: conflistCapabilities(this.#config),
        agentSocket: this.#config.cniSocket ?? "off",
      });

      // 1. cbr0 follows the PodCIDR before the new conflist can reach a runtime (pain point 4).
      try {
        const r = syncBridge(rtnl, desired.bridge, this.#host.isErrno);
        writes.bridge = r.changes.length;
        this.metrics.inc(M.bridgeChanges[0], M.bridgeChanges[1], {}, r.changes.length);
        steps.bridge = this.#succeeded("bridge", r.changes.length > 0, r.present ? r.changes : ["bridge absent: the plugin creates it on the first ADD"]);
      } catch (err) {
        steps.bridge = this.#failed("bridge", err);
      }
      // 2. Kernel settings.
      steps.sysctls = await this.#syncSysctls(desired, writes);
      // 3. Masquerade rules, per family.
      steps.masq = await this.#syncMasq(desired, writes);
      // 3b. FORWARD acceptance, per family.
      if ((this.#config.forwardAccept ?? "on") === "on") steps.forward = await this.#syncForward(podCidrs, writes);
      // 4. The conflist, last: only once the bridge matches it.
      if (steps.bridge.ok) {
        try {
          const r = await syncConflist(this.#config.cniConfDir, this.#config.cniConfName, desired.conflist);
          if (r.wrote) {
            writes.conflist = 1;
            this.metrics.inc(M.conflistWrites[0], M.conflistWrites[1]);
          }
          this.metrics.set(M.shadowed[0], M.shadowed[1], r.shadowedBy.length > 0 ? 1 : 0);
          if (r.shadowedBy.length > 0) this.#warnOnce("shadowed", "Another CNI config sorts before ours: the runtime will use it instead", { files: r.shadowedBy });
          steps.conflist = this.#succeeded("conflist", r.wrote, r.wrote ? [`wrote ${this.#config.cniConfName}`] : []);
        } catch (err) {
          steps.conflist = this.#failed("conflist", err);
        }
      } else {
        steps.conflist = { ok: false, changed: false, details: ["skipped: the bridge is not in line with the PodCIDR"], error: "skipped" };
        this.metrics.inc(M.stepErrors[0], M.stepErrors[1], { step: "conflist" });
      }
      // 5. host-gw routes to the other nodes.
      if (this.#hostGw !== undefined) {
        const r = await this.#syncRoutes(this.#hostGw);
        writes.routes = r.writes;
        steps.routes = r.report;
      }
      return finish(true, mtu);
    } finally {
      rtnl.close();
    }
  }

  /** One host-gw run, from sync() or from the routes loop (a Node event): logged and counted the same way. */
  async #syncRoutes(hostGw: HostGw): Promise<{ writes: number; report: StepReport }> {
    const r = await hostGw.sync(this.#podCidrs);
    const report = r.ok ? this.#succeeded("routes", r.writes > 0, r.details) : this.#failed("routes", r.error, r.details);
    return { writes: r.writes, report };
  }

  async #syncForward(podCidrs: PodCidrs, writes: { forward: number; iptablesRestores: number; iptablesRules: number }): Promise<StepReport> {
    const details: string[] = [];
    const errors: unknown[] = [];
    for (const family of [...new Set(podCidrs.map((c) => c.addr.family))]) {
      const clusters = this.#config.clusterCidrs.filter((c) => c.addr.family === family);
      const cidrs = clusters.length > 0 ? clusters : podCidrs.filter((c) => c.addr.family === family);
      try {
        const rules = await syncForward(this.#iptables.get(family) as Iptables, { family, chain: FORWARD_CHAIN, cidrs });
        if (rules === 0) continue;
        writes.forward++;
        writes.iptablesRestores++;
        writes.iptablesRules += rules;
        this.metrics.inc(M.restores[0], M.restores[1], { family: String(family) });
        this.metrics.inc(M.rules[0], M.rules[1], { family: String(family) }, rules);
        details.push(`IPv${family}: rewrote ${FORWARD_CHAIN} (${rules} rules)`);
      } catch (err) {
        errors.push(new Error(`IPv${family} FORWARD rules`, { cause: err }));
      }
    }
    if (errors.length > 0) return this.#failed("forward", errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(describeError).join("; ")), details);
    return this.#succeeded("forward", details.length > 0, details);
  }

  async #syncSysctls(desired: DesiredState, writes: { sysctls: number }): Promise<StepReport> {
    try {
      const r = await syncSysctls(this.#host.sysctl, desired.sysctls, this.#host.loadBrNetfilter);
      for (const name of r.written) this.metrics.inc(M.sysctlWrites[0], M.sysctlWrites[1], { name });
      writes.sysctls = r.written.length;
      this.metrics.set(M.brNetfilter[0], M.brNetfilter[1], r.brNetfilter === "missing" ? 0 : 1);
      if (r.brNetfilter === "modprobed") this.#log.info("Loaded br_netfilter");
      const details = r.written.map((n) => `set ${n}=1`);
      if (r.problems.length > 0) return this.#failed("sysctls", new Error(`Cannot apply kernel settings: ${r.problems.join("; ")}`), details);
      return this.#succeeded("sysctls", r.written.length > 0, details);
    } catch (err) {
      return this.#failed("sysctls", err);
    }
  }

  async #syncMasq(desired: DesiredState, writes: { iptablesRestores: number; iptablesRules: number }): Promise<StepReport> {
    if (this.#masqError !== undefined) {
      // ip-masq-agent's rule: an invalid config file leaves the current rules as they are.
      return this.#failed("masq", this.#masqError, ["rules left as they are until the config file is fixed"]);
    }
    const details: string[] = [];
    const errors: unknown[] = [];
    for (const spec of desired.masq) {
      const ipt = this.#iptables.get(spec.family) as Iptables;
      try {
        const r = await syncMasq(ipt, spec);
        if (r.wrote) {
          writes.iptablesRestores++;
          writes.iptablesRules += r.rulesWritten;
          this.metrics.inc(M.restores[0], M.restores[1], { family: String(spec.family) });
          this.metrics.inc(M.rules[0], M.rules[1], { family: String(spec.family) }, r.rulesWritten);
          details.push(`IPv${spec.family}: rewrote ${r.repaired.join(" and ")} (${r.rulesWritten} rules)`);
        }
      } catch (err) {
        errors.push(new Error(`IPv${spec.family} masquerade rules`, { cause: err }));
      }
    }
    if (errors.length > 0) return this.#failed("masq", errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(describeError).join("; ")), details);
    return this.#succeeded("masq", details.length > 0, details);
  }

  /** Re-reads the masquerade config file; parses it only when its content changed. */
  async #reloadMasqConfig(): Promise<void> {
    const path = this.#config.masqConfigPath;
    if (path === undefined) return;
    let text: string | undefined;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.#masqError = new Error(`Cannot read the masquerade config ${JSON.stringify(path)}`, { cause: err });
        this.#masqLoaded = false;
        return;
      }
    }
    if (this.#masqLoaded && text === this.#masqText) return;
    this.#masqLoaded = true;
    this.#masqText = text;
    try {
      this.#masq = text === undefined ? DEFAULT_MASQ_CONFIG : parseMasqConfig(text);
      this.#masqError = undefined;
      this.#log.info(text === undefined ? "No masquerade config file: using defaults" : "Masquerade config loaded", {
        path,
        nonMasqueradeCIDRs: this.#masq.nonMasqueradeCidrs?.map(formatCidr) ?? "default",
        masqLinkLocal: this.#masq.masqLinkLocal,
        masqLinkLocalIPv6: this.#masq.masqLinkLocalIpv6,
        resyncIntervalMs: this.#masq.resyncIntervalMs ?? this.#config.resyncIntervalMs,
      });
    } catch (err) {
      this.#masqError = new Error(`Invalid masquerade config ${JSON.stringify(path)}`, { cause: err });
    }
  }

  #notePodCidrs(podCidrs: PodCidrs): void {
    if (samePodCidrs(this.#podCidrs, podCidrs)) return;
    this.#log.info("PodCIDR in effect", { podCIDRs: formatPodCidrs(podCidrs), previous: formatPodCidrs(this.#podCidrs) });
    this.#podCidrs = podCidrs;
    this.metrics.inc(M.podCidrChanges[0], M.podCidrChanges[1]);
    this.metrics.resetGauge(M.podCidr[0], M.podCidr[1]);
    for (const c of podCidrs) this.metrics.set(M.podCidr[0], M.podCidr[1], 1, { cidr: formatCidr(c), family: String(c.addr.family) });
  }

  #succeeded(step: string, changed: boolean, details: readonly string[]): StepReport {
    if (this.#lastErrors.delete(step)) this.#log.info(`Step ${step} recovered`);
    return { ok: true, changed, details };
  }

  #failed(step: StepName | "source", err: unknown, details: readonly string[] = []): StepReport {
    const message = describeError(err);
    this.metrics.inc(M.stepErrors[0], M.stepErrors[1], { step });
    // The same error every tick is logged once at error level, then at debug level (log reduction).
    if (this.#lastErrors.get(step) !== message) this.#log.error(`Step ${step} failed`, { error: message });
    else this.#log.debug(`Step ${step} still failing`, { error: message });
    this.#lastErrors.set(step, message);
    return { ok: false, changed: details.length > 0, details, error: message };
  }

  #warnOnce(key: string, msg: string, fields: Record<string, unknown>): void {
    const text = JSON.stringify(fields);
    if (this.#lastErrors.get(key) === text) return;
    this.#lastErrors.set(key, text);
    this.#log.warn(msg, fields);
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
