// agent/cni-service/service-metrics: the CNI service's series in the agent's /metrics. Synchronous.

import type { Metrics } from "../metrics.js";
import type { PoolAnswer } from "./pool.js";

export const CNI_METRICS = {
  requests: ["kubenet_agent_cni_requests_total", "CNI requests served, by command and CNI result code (0 = success, lost = failed mid-request)."],
  refused: ["kubenet_agent_cni_refused_total", "CNI connections refused before anything ran, by reason (1 version, 2 peer not root, 3 malformed, 4 shutting down)."],
  inFlight: ["kubenet_agent_cni_requests_in_flight", "CNI requests being run now."],
  workers: ["kubenet_agent_cni_workers", "Worker threads of the CNI service."],
  duration: ["kubenet_agent_cni_request_duration_seconds", "Time from a complete request to its answer."],
} as const;

/** Buckets (seconds): an ADD is a few ms; a DEL waits ~15 ms for the kernel; lock waits go to seconds. */
const CNI_DURATION_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const;

export function declareCniMetrics(m: Metrics): void {
  m.declare(CNI_METRICS.inFlight[0], "gauge", CNI_METRICS.inFlight[1]);
  m.declare(CNI_METRICS.workers[0], "gauge", CNI_METRICS.workers[1]);
  m.declare(CNI_METRICS.refused[0], "counter", CNI_METRICS.refused[1], { reason: "2" });
}

/** The CNI code of an answer: 0, the error JSON's `code`, or "lost". */
function resultCode(a: PoolAnswer): string {
  if (a.kind !== "done") return a.kind;
  if (a.exitCode === 0) return "0";
  try {
    const j = JSON.parse(a.stdout) as { code?: unknown };
    return typeof j.code === "number" ? String(j.code) : `exit${a.exitCode}`;
  } catch {
    return `exit${a.exitCode}`;
  }
}

export function recordRequest(m: Metrics, command: string, a: PoolAnswer, seconds: number): void {
  const known = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"].includes(command) ? command : "other";
  m.inc(CNI_METRICS.requests[0], CNI_METRICS.requests[1], { command: known, code: resultCode(a) });
  m.observe(CNI_METRICS.duration[0], CNI_METRICS.duration[1], seconds, CNI_DURATION_BUCKETS);
}
