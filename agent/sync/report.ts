// agent/sync/report: what one sync reports (`kubenet-agent run --once` prints it, /healthz reads from it) and
// the names of its steps. Types only, plus the step list.

import type { HostGwHealth } from "../routes/host-gw.js";

export const STEPS = ["bridge", "sysctls", "masq", "conflist", "forward", "routes"] as const;
export type StepName = (typeof STEPS)[number];

export interface StepReport {
  readonly ok: boolean;
  readonly changed: boolean;
  /** What changed, or why the step was skipped. */
  readonly details: readonly string[];
  readonly error?: string;
}

/** Kernel and file writes of one sync, by kind (a node in line with its desired state makes none). */
export interface SyncWrites {
  iptablesRestores: number;
  iptablesRules: number;
  sysctls: number;
  conflist: number;
  bridge: number;
  /** iptables-restore runs for the FORWARD chain. */
  forward: number;
  /** host-gw routes added, replaced or deleted. */
  routes: number;
}

/** The outcome of one sync. */
export interface SyncReport {
  /** A PodCIDR is known (else nothing was done). */
  readonly ready: boolean;
  /** Ready and every step succeeded. */
  readonly ok: boolean;
  readonly podCIDRs: readonly string[];
  readonly mtu: number | undefined;
  readonly durationMs: number;
  readonly writes: Readonly<SyncWrites>;
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
