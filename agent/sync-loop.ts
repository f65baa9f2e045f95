// agent/sync-loop: runs the agent's sync every resync interval, and at once when something asks for it (a
// PodCIDR change). Never throws out of a tick: a failed sync is logged and retried at the next one. Async;
// stops when its AbortSignal fires (SIGTERM), leaving the datapath as the last sync made it.

import { describeError, type Logger } from "./log.js";

export interface SyncLoopOptions {
  readonly sync: () => Promise<unknown>;
  /** Read before every wait, so a reloaded config can change the period. */
  readonly intervalMs: () => number;
  readonly log: Logger;
}

export class SyncLoop {
  readonly #options: SyncLoopOptions;
  #pending = false;
  #wake: (() => void) | undefined;

  constructor(options: SyncLoopOptions) {
    this.#options = options;
  }

  /** Requests a sync as soon as the current one (if any) has finished. */
  trigger(): void {
    this.#pending = true;
    this.#wake?.();
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#pending = false;
      try {
        await this.#options.sync();
      } catch (err) {
        // sync() reports its own failures; this is the last line of defence for a bug.
        this.#options.log.error("Sync crashed", { error: describeError(err) });
      }
      if (signal.aborted || this.#pending) continue;
      await this.#sleep(this.#options.intervalMs(), signal);
    }
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.#wake = done;
    });
  }
}
