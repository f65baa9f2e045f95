// agent/sync/step-log: turns a step's outcome into its StepReport, counts failures, and keeps the log
// quiet: the same error every tick is logged once at error level, then at debug level, and a recovery is
// said once. Synchronous.

import { describeError, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { M } from "./metrics.js";
import type { StepName, StepReport } from "./report.js";

export class StepLog {
  readonly #log: Logger;
  readonly #metrics: Metrics;
  /** The last error (or warning) text per step or key, for log reduction. */
  readonly #last = new Map<string, string>();

  constructor(log: Logger, metrics: Metrics) {
    this.#log = log;
    this.#metrics = metrics;
  }

  succeeded(step: StepName, changed: boolean, details: readonly string[]): StepReport {
    if (this.#last.delete(step)) this.#log.info(`Step ${step} recovered`);
    return { ok: true, changed, details };
  }

  failed(step: StepName | "source", err: unknown, details: readonly string[] = []): StepReport {
    const message = describeError(err);
    this.#metrics.inc(M.stepErrors[0], M.stepErrors[1], { step });
    if (this.#last.get(step) !== message) this.#log.error(`Step ${step} failed`, { error: message });
    else this.#log.debug(`Step ${step} still failing`, { error: message });
    this.#last.set(step, message);
    return { ok: false, changed: details.length > 0, details, error: message };
  }

  /** A step that did not run because an earlier one failed: counted as an error, not logged again. */
  skipped(step: StepName, why: string): StepReport {
    this.#metrics.inc(M.stepErrors[0], M.stepErrors[1], { step });
    return { ok: false, changed: false, details: [`skipped: ${why}`], error: "skipped" };
  }

  /** A warning logged again only when its fields change. */
  warnOnce(key: string, msg: string, fields: Record<string, unknown>): void {
    const text = JSON.stringify(fields);
    if (this.#last.get(key) === text) return;
    this.#last.set(key, text);
    this.#log.warn(msg, fields);
  }
}
