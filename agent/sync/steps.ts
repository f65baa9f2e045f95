// agent/sync/steps: the reconcile steps of one sync, each turning one reconciler's outcome into a
// StepReport, its writes and its metrics. A failing step never throws: its error is in its report, and
// the next step still runs. Async (the reconcilers write files, sysctls and iptables).

import type { AgentConfig } from "../config.js";
import type { DesiredState } from "../desired.js";
import type { AgentRtnl, HostDeps } from "../host.js";
import { oneError, type Logger } from "../log.js";
import type { IptablesBackend } from "../masq/backend-choice.js";
import { FORWARD_CHAIN, syncForward } from "../masq/forward.js";
import { syncMasq } from "../masq/sync-masq.js";
import type { Metrics } from "../metrics.js";
import { syncBridge } from "../reconcilers/bridge.js";
import { syncConflist } from "../reconcilers/conflist.js";
import { syncSysctls } from "../reconcilers/sysctls.js";
import type { PodCidrs } from "../sources/pod-cidrs.js";
import { countRestore, M } from "./metrics.js";
import type { StepReport, SyncWrites } from "./report.js";
import type { StepLog } from "./step-log.js";

/** What every step needs; `writes` collects the sync's writes. */
export interface StepContext {
  readonly config: Omit<AgentConfig, "source">;
  readonly host: HostDeps;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly steps: StepLog;
  readonly iptables: IptablesBackend;
  readonly writes: SyncWrites;
}

/** cbr0's addresses and MTU follow the PodCIDR (before the new conflist can reach a runtime). */
export function bridgeStep(ctx: StepContext, rtnl: AgentRtnl, desired: DesiredState): StepReport {
  try {
    const r = syncBridge(rtnl, desired.bridge, ctx.host.isErrno);
    ctx.writes.bridge = r.changes.length;
    ctx.metrics.inc(M.bridgeChanges[0], M.bridgeChanges[1], {}, r.changes.length);
    return ctx.steps.succeeded("bridge", r.changes.length > 0, r.present ? r.changes : ["bridge absent: the plugin creates it on the first ADD"]);
  } catch (err) {
    return ctx.steps.failed("bridge", err);
  }
}

/** Kernel settings (forwarding, bridge-nf-call-*), loading br_netfilter when its sysctls are missing. */
export async function sysctlsStep(ctx: StepContext, desired: DesiredState): Promise<StepReport> {
  try {
    const r = await syncSysctls(ctx.host.sysctl, desired.sysctls, ctx.host.loadBrNetfilter);
    for (const name of r.written) ctx.metrics.inc(M.sysctlWrites[0], M.sysctlWrites[1], { name });
    ctx.writes.sysctls = r.written.length;
    ctx.metrics.set(M.brNetfilter[0], M.brNetfilter[1], r.brNetfilter === "missing" ? 0 : 1);
    if (r.brNetfilter === "modprobed") ctx.log.info("Loaded br_netfilter");
    const details = r.written.map((n) => `set ${n}=1`);
    if (r.problems.length > 0) return ctx.steps.failed("sysctls", new Error(`Cannot apply kernel settings: ${r.problems.join("; ")}`), details);
    return ctx.steps.succeeded("sysctls", r.written.length > 0, details);
  } catch (err) {
    return ctx.steps.failed("sysctls", err);
  }
}

/** The masquerade chain per family; `configError` (an invalid config file) leaves the rules as they are. */
export async function masqStep(ctx: StepContext, desired: DesiredState, configError: Error | undefined): Promise<StepReport> {
  // ip-masq-agent's rule: an invalid config file leaves the current rules as they are.
  if (configError !== undefined) return ctx.steps.failed("masq", configError, ["rules left as they are until the config file is fixed"]);
  const details: string[] = [];
  const errors: unknown[] = [];
  for (const spec of desired.masq) {
    try {
      const r = await syncMasq(ctx.iptables.of(spec.family), spec);
      if (!r.wrote) continue;
      ctx.writes.iptablesRestores++;
      ctx.writes.iptablesRules += r.rulesWritten;
      countRestore(ctx.metrics, spec.family, r.rulesWritten);
      details.push(`IPv${spec.family}: rewrote ${r.repaired.join(" and ")} (${r.rulesWritten} rules)`);
    } catch (err) {
      errors.push(new Error(`IPv${spec.family} masquerade rules`, { cause: err }));
    }
  }
  if (errors.length > 0) return ctx.steps.failed("masq", oneError(errors), details);
  return ctx.steps.succeeded("masq", details.length > 0, details);
}

/** FORWARD acceptance per family, for the cluster CIDRs (else the PodCIDRs). */
export async function forwardStep(ctx: StepContext, podCidrs: PodCidrs): Promise<StepReport> {
  const details: string[] = [];
  const errors: unknown[] = [];
  for (const family of [...new Set(podCidrs.map((c) => c.addr.family))]) {
    const clusters = ctx.config.clusterCidrs.filter((c) => c.addr.family === family);
    const cidrs = clusters.length > 0 ? clusters : podCidrs.filter((c) => c.addr.family === family);
    try {
      const rules = await syncForward(ctx.iptables.of(family), { family, chain: FORWARD_CHAIN, cidrs });
      if (rules === 0) continue;
      ctx.writes.forward++;
      ctx.writes.iptablesRestores++;
      ctx.writes.iptablesRules += rules;
      countRestore(ctx.metrics, family, rules);
      details.push(`IPv${family}: rewrote ${FORWARD_CHAIN} (${rules} rules)`);
    } catch (err) {
      errors.push(new Error(`IPv${family} FORWARD rules`, { cause: err }));
    }
  }
  if (errors.length > 0) return ctx.steps.failed("forward", oneError(errors), details);
  return ctx.steps.succeeded("forward", details.length > 0, details);
}

/** The conflist, last, and only once the bridge matches it (a runtime may read it at once). */
export async function conflistStep(ctx: StepContext, desired: DesiredState, bridgeOk: boolean): Promise<StepReport> {
  if (!bridgeOk) return ctx.steps.skipped("conflist", "the bridge is not in line with the PodCIDR");
  try {
    const r = await syncConflist(ctx.config.cniConfDir, ctx.config.cniConfName, desired.conflist);
    if (r.wrote) {
      ctx.writes.conflist = 1;
      ctx.metrics.inc(M.conflistWrites[0], M.conflistWrites[1]);
    }
    ctx.metrics.set(M.shadowed[0], M.shadowed[1], r.shadowedBy.length > 0 ? 1 : 0);
    if (r.shadowedBy.length > 0) ctx.steps.warnOnce("shadowed", "Another CNI config sorts before ours: the runtime will use it instead", { files: r.shadowedBy });
    return ctx.steps.succeeded("conflist", r.wrote, r.wrote ? [`wrote ${ctx.config.cniConfName}`] : []);
  } catch (err) {
    return ctx.steps.failed("conflist", err);
  }
}
