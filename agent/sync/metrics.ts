// agent/sync/metrics: the names and help texts of the sync's Prometheus series, declared up front so every
// label value shows (as 0) before it first counts. Synchronous.

import type { IpFamily } from "../../core/ip.js";
import type { Metrics } from "../metrics.js";
import { STEPS } from "./report.js";

export const M = {
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

export function declareSyncMetrics(metrics: Metrics): void {
  for (const r of ["success", "failure", "not_ready"]) metrics.declare(M.syncs[0], "counter", M.syncs[1], { result: r });
  for (const s of STEPS) metrics.declare(M.stepErrors[0], "counter", M.stepErrors[1], { step: s });
  for (const f of ["4", "6"]) {
    metrics.declare(M.restores[0], "counter", M.restores[1], { family: f });
    metrics.declare(M.rules[0], "counter", M.rules[1], { family: f });
  }
  metrics.declare(M.conflistWrites[0], "counter", M.conflistWrites[1]);
  metrics.declare(M.bridgeChanges[0], "counter", M.bridgeChanges[1]);
  metrics.declare(M.podCidrChanges[0], "counter", M.podCidrChanges[1]);
  metrics.declare(M.ready[0], "gauge", M.ready[1]);
}

/** One iptables-restore that wrote `rules` rules for `family`. */
export function countRestore(metrics: Metrics, family: IpFamily, rules: number): void {
  metrics.inc(M.restores[0], M.restores[1], { family: String(family) });
  metrics.inc(M.rules[0], M.rules[1], { family: String(family) }, rules);
}
