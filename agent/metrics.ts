// agent/metrics: the agent's counters and gauges, rendered in the Prometheus text exposition format
// (version 0.0.4) without a client library. Synchronous; plain data owned by the agent.

export type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly values: Map<string, { labels: Labels; value: number }>;
}

/** Bucket bounds (seconds) of the sync duration histogram: a sync is milliseconds unless iptables waits. */
const SYNC_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

const labelKey = (labels: Labels): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ""}`)
    .join(",");

export class Metrics {
  readonly #families = new Map<string, Family>();
  readonly #histograms = new Map<string, { help: string; buckets: readonly number[]; counts: number[]; sum: number; count: number }>();

  #family(name: string, type: Family["type"], help: string): Family {
    let f = this.#families.get(name);
    if (f === undefined) {
      f = { help, type, values: new Map() };
      this.#families.set(name, f);
    }
    return f;
  }

  /** Declares a family up front so it is exported (with value 0) before the first increment. */
  declare(name: string, type: "counter" | "gauge", help: string, labels: Labels = {}): void {
    const f = this.#family(name, type, help);
    const key = labelKey(labels);
    if (!f.values.has(key)) f.values.set(key, { labels, value: 0 });
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const f = this.#family(name, "counter", help);
    const key = labelKey(labels);
    const cur = f.values.get(key);
    if (cur === undefined) f.values.set(key, { labels, value: by });
    else cur.value += by;
  }

  set(name: string, help: string, value: number, labels: Labels = {}): void {
    this.#family(name, "gauge", help).values.set(labelKey(labels), { labels, value });
  }

  /** Sets a counter kept elsewhere (e.g. the watch statistics of the Kubernetes source). */
  setCounter(name: string, help: string, value: number, labels: Labels = {}): void {
    this.#family(name, "counter", help).values.set(labelKey(labels), { labels, value });
  }

  /** Replaces all series of a gauge (e.g. the PodCIDR info series when the PodCIDR changes). */
  resetGauge(name: string, help: string): void {
    this.#family(name, "gauge", help).values.clear();
  }

  get(name: string, labels: Labels = {}): number {
    return this.#families.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Sum over all label sets of a family. */
  total(name: string): number {
    let sum = 0;
    for (const v of this.#families.get(name)?.values.values() ?? []) sum += v.value;
    return sum;
  }

  observe(name: string, help: string, value: number, buckets: readonly number[] = SYNC_DURATION_BUCKETS): void {
    let h = this.#histograms.get(name);
    if (h === undefined) {
      h = { help, buckets, counts: buckets.map(() => 0), sum: 0, count: 0 };
      this.#histograms.set(name, h);
    }
    h.buckets.forEach((b, i) => {
      if (value <= b) h.counts[i] = (h.counts[i] ?? 0) + 1;
    });
    h.sum += value;
    h.count++;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, f] of [...this.#families].sort(([a], [b]) => (a < b ? -1 : 1))) {
      lines.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`);
      for (const { labels, value } of f.values.values()) lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    }
    for (const [name, h] of [...this.#histograms].sort(([a], [b]) => (a < b ? -1 : 1))) {
      lines.push(`# HELP ${name} ${escapeHelp(h.help)}`, `# TYPE ${name} histogram`);
      h.buckets.forEach((b, i) => lines.push(`${name}_bucket{le="${b}"} ${h.counts[i] ?? 0}`));
      lines.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${formatValue(h.sum)}`, `${name}_count ${h.count}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${(labels[k] ?? "").replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))}"`).join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
