// core/cri/gc-report: what `kubenet gc --json` prints, shared by the plugin (which writes it) and the agent (whose
// periodic sweep runs `kubenet gc` and counts the releases in /metrics). Pure.

export interface GcOutcome {
  readonly containerId: string;
  readonly ifName: string;
  readonly ips: readonly string[];
  readonly veth: string | undefined;
  readonly action: "released" | "would-release" | "skipped" | "failed";
  readonly detail: string;
}

export interface GcReport {
  readonly dryRun: boolean;
  /** False: the runtime did not answer, so nothing could be judged leaked and nothing was released. */
  readonly runtimeAnswered: boolean;
  readonly released: number;
  readonly outcomes: readonly GcOutcome[];
}

/** Parses `kubenet gc --json` output; throws SyntaxError when it is not a report. */
export function parseGcReport(text: string): GcReport {
  const doc = JSON.parse(text) as Partial<Record<keyof GcReport, unknown>>;
  if (typeof doc !== "object" || doc === null || typeof doc.released !== "number" || typeof doc.runtimeAnswered !== "boolean" || !Array.isArray(doc.outcomes)) {
    throw new SyntaxError(`not a kubenet gc report: ${text.slice(0, 200)}`);
  }
  return doc as GcReport;
}
