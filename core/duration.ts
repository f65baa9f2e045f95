// core/duration: Go-style durations ("60s", "1m30s", "500ms"), the format of ip-masq-agent's
// `resyncInterval`, of the agent's interval flags and of `kubenet status`/`gc`'s --min-age and --timeout. Pure.

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration into milliseconds: one or more "<decimal><unit>" terms, units ns us ms s m h.
 * A bare "0" is accepted (as Go does); negative durations are not.
 * @throws SyntaxError quoting the text
 */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  const term = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let pos = 0;
  while (pos < text.length) {
    term.lastIndex = pos;
    const m = term.exec(text);
    if (m === null) {
      throw new SyntaxError(`Invalid duration ${JSON.stringify(text)}: expected terms like "60s", "1m30s" or "500ms"`);
    }
    ms += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? Number.NaN);
    pos = term.lastIndex;
  }
  if (pos === 0 || !Number.isFinite(ms)) {
    throw new SyntaxError(`Invalid duration ${JSON.stringify(text)}: expected terms like "60s", "1m30s" or "500ms"`);
  }
  return ms;
}

/**
 * The longest wait a Node timer keeps: a longer setTimeout/setInterval delay fires after 1 ms instead (with
 * a warning), so an interval of "1000h" would run the loop a thousand times a second. Interval settings
 * stop here (~24.8 days).
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Short text for logs: "1.5s", "250ms", "2m". */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}
