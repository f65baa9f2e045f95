// native/clock: a monotonic millisecond clock for deadlines and waits. process.hrtime is part of the
// process object; the global `performance` would load node:perf_hooks (~2 ms) on the plugin's start-up
// path. Synchronous, no imports.

/** Milliseconds from an arbitrary origin; never goes backwards (unlike Date.now across clock changes). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
