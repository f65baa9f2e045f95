// agent/routes/host-gw: the agent's host-gw step: peers from the source -> plan -> the main routing table,
// with its metrics, log lines and /healthz detail. Async only to read the peers; the route work itself is
// synchronous, so two runs (a Node event and the periodic sync) never interleave inside the table.

import type { IpNet } from "../../core/ip.js";
import type { ErrnoPredicate } from "../reconcilers/bridge.js";
import { describeError, oneError, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { PeerSource } from "../sources/peers.js";
import type { PodCidrs } from "../sources/pod-cidrs.js";
import { planHostGw, type Unrouted } from "./plan.js";
import { localAddrsOf, syncRoutes, type RoutesRtnl } from "./reconcile.js";

export interface HostGwHealth {
  readonly mode: "host-gw";
  /** Our routes in the main table after the last run. */
  readonly routes: number;
  readonly unrouted: readonly Unrouted[];
  readonly conflicts: readonly string[];
  readonly lastError: string | null;
}

export interface HostGwRun {
  readonly ok: boolean;
  /** Routes added, replaced or deleted. */
  readonly writes: number;
  readonly details: readonly string[];
  readonly error?: unknown;
}

const M = {
  routes: ["kubenet_agent_hostgw_routes", "host-gw routes of ours in the main table."],
  changes: ["kubenet_agent_hostgw_route_changes_total", "host-gw route changes, by operation (add, replace, delete)."],
  unrouted: ["kubenet_agent_hostgw_peers_unrouted", "Peers (per family) that get no route, by reason (off-link, no-address, invalid, overlap)."],
  conflicts: ["kubenet_agent_hostgw_route_conflicts", "Wanted routes whose destination a foreign route holds (left alone)."],
} as const;

export interface HostGwOptions {
  readonly source: PeerSource;
  readonly nodeName: string | undefined;
  readonly openRtnl: () => RoutesRtnl & { close(): void };
  readonly isErrno: ErrnoPredicate;
  readonly log: Logger;
  readonly metrics: Metrics;
}

export class HostGw {
  readonly #o: HostGwOptions;
  #health: HostGwHealth = { mode: "host-gw", routes: 0, unrouted: [], conflicts: [], lastError: null };
  #reported = "";

  constructor(options: HostGwOptions) {
    this.#o = options;
    for (const op of ["add", "replace", "delete"]) options.metrics.declare(M.changes[0], "counter", M.changes[1], { op });
    for (const reason of ["off-link", "no-address", "invalid", "overlap"]) options.metrics.declare(M.unrouted[0], "gauge", M.unrouted[1], { reason });
    options.metrics.declare(M.routes[0], "gauge", M.routes[1]);
    options.metrics.declare(M.conflicts[0], "gauge", M.conflicts[1]);
  }

  health(): HostGwHealth {
    return this.#health;
  }

  async sync(podCidrs: PodCidrs | undefined): Promise<HostGwRun> {
    const { log, metrics } = this.#o;
    try {
      const peers = await this.#o.source.current();
      const rtnl = this.#o.openRtnl();
      try {
        const localAddrs: IpNet[] = localAddrsOf(rtnl.addrList());
        const plan = planHostGw({ nodeName: this.#o.nodeName, podCidrs, localAddrs, peers });
        const r = syncRoutes(rtnl, plan.routes, this.#o.isErrno);
        metrics.inc(M.changes[0], M.changes[1], { op: "add" }, r.added.length);
        metrics.inc(M.changes[0], M.changes[1], { op: "replace" }, r.replaced.length);
        metrics.inc(M.changes[0], M.changes[1], { op: "delete" }, r.deleted.length);
        metrics.set(M.routes[0], M.routes[1], r.owned);
        metrics.set(M.conflicts[0], M.conflicts[1], r.conflicts.length);
        for (const reason of ["off-link", "no-address", "invalid", "overlap"]) {
          metrics.set(M.unrouted[0], M.unrouted[1], plan.unrouted.filter((u) => u.reason === reason).length, { reason });
        }
        const error = r.errors.length === 0 ? undefined : oneError(r.errors);
        this.#health = { mode: "host-gw", routes: r.owned, unrouted: plan.unrouted, conflicts: r.conflicts, lastError: error === undefined ? null : describeError(error) };
        this.#report(plan.unrouted, r.conflicts);
        const details = [...r.added.map((s) => `added ${s}`), ...r.replaced.map((s) => `replaced ${s}`), ...r.deleted.map((s) => `deleted ${s}`)];
        const writes = r.added.length + r.replaced.length + r.deleted.length;
        if (writes > 0) log.info("host-gw routes changed", { changes: details, routes: r.owned });
        return error === undefined ? { ok: true, writes, details } : { ok: false, writes, details, error };
      } finally {
        rtnl.close();
      }
    } catch (err) {
      this.#health = { ...this.#health, lastError: describeError(err) };
      return { ok: false, writes: 0, details: [], error: err };
    }
  }

  /** Off-link peers and conflicts are logged when the set changes, not at every sync. */
  #report(unrouted: readonly Unrouted[], conflicts: readonly string[]): void {
    const key = JSON.stringify([unrouted, conflicts]);
    if (key === this.#reported) return;
    this.#reported = key;
    for (const u of unrouted) {
      this.#o.log.warn(u.reason === "off-link" ? "Peer is not on a directly connected subnet: no host-gw route" : "Peer gets no host-gw route", { peer: u.peer, family: u.family, reason: u.reason, detail: u.detail });
    }
    for (const c of conflicts) this.#o.log.warn("A foreign route holds a peer's PodCIDR: left alone", { route: c });
  }
}

