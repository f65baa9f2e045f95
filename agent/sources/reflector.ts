// agent/sources/reflector: list + watch of a collection, kept current the way client-go's reflector does it;
// the node's own Node (kubernetes.ts) and every Node (peers.ts, host-gw) are watched through it. Async; never
// throws out of `run`.
//  - list => every object and a resourceVersion (`replace`); then watch from there (`apply` per event);
//  - a stream that ends is resumed from the last resourceVersion seen (events and bookmarks advance it);
//  - 410 Gone (an ERROR event with code 410, or an HTTP 410) => relist;
//  - any other failure => capped exponential back-off with jitter, then resume (or relist);
//  - a stream that closes at once without an event is throttled like a failure.

import type { Logger } from "../log.js";

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/** Delay before retry number `attempt` (1-based): initial * 2^(attempt-1), capped, with +-20 % jitter. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Counters the metrics endpoint shows. */
export interface WatchStats {
  lists: number;
  relists: number;
  watchesStarted: number;
  watchEvents: number;
  apiErrors: number;
  /** Streams that ended at once without an event (throttled like errors, but not counted as one). */
  shortWatches: number;
}

/** The HTTP status of a failed client call (Watch sets `statusCode`, the generated API `code`). */
function httpStatusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; code?: unknown } | null | undefined;
  if (typeof e?.statusCode === "number") return e.statusCode;
  if (typeof e?.code === "number") return e.code;
  return undefined;
}

export interface ListWatchApi {
  list(): Promise<{ readonly items: readonly unknown[]; readonly resourceVersion: string }>;
  /**
   * Calls `onEvent` per event and resolves when the server ends the stream; rejects on HTTP/connection
   * errors (with `statusCode` or `code` when the server answered) and on the client's inactivity timeout
   * (`name` "TimeoutError").
   */
  watch(resourceVersion: string, onEvent: (type: string, object: unknown) => void, signal: AbortSignal): Promise<void>;
}

export interface ReflectorOptions {
  readonly api: ListWatchApi;
  /** What is watched, for log lines ("nodes"). */
  readonly what: string;
  readonly log: Logger;
  /** A fresh list: the whole collection. */
  readonly replace: (items: readonly unknown[]) => void;
  /** One ADDED / MODIFIED / DELETED event. */
  readonly apply: (type: "ADDED" | "MODIFIED" | "DELETED", object: unknown) => void;
  readonly backoff?: BackoffOptions;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface Reflector {
  readonly stats: Readonly<WatchStats>;
  /** Resolves after the first successful list. */
  synced(): Promise<void>;
  run(signal: AbortSignal): Promise<void>;
}

export function createReflector(o: ReflectorOptions): Reflector {
  return new ListWatchLoop(o);
}

/** The loop behind createReflector; `failures` counts consecutive failed calls (the back-off's attempt). */
class ListWatchLoop implements Reflector {
  readonly stats: WatchStats = { lists: 0, relists: 0, watchesStarted: 0, watchEvents: 0, apiErrors: 0, shortWatches: 0 };
  readonly #o: ReflectorOptions;
  readonly #synced: Promise<void>;
  #markSynced: () => void = () => undefined;
  #failures = 0;

  constructor(o: ReflectorOptions) {
    this.#o = o;
    this.#synced = new Promise<void>((resolve) => (this.#markSynced = resolve));
  }

  synced(): Promise<void> {
    return this.#synced;
  }

  async run(signal: AbortSignal): Promise<void> {
    let rv: string | undefined;
    while (!signal.aborted) {
      if (rv === undefined) {
        try {
          const listed = await this.#o.api.list();
          this.stats.lists++;
          this.#o.replace(listed.items);
          rv = listed.resourceVersion;
          this.#failures = 0;
          this.#markSynced();
        } catch (err) {
          if (!signal.aborted) await this.#wait(signal, err);
          continue;
        }
      }
      rv = await this.#watchOnce(rv, signal);
    }
  }

  /** Backs off after a failed call (`err`) or a stream that closed at once without an event (no `err`). */
  async #wait(signal: AbortSignal, err?: unknown): Promise<void> {
    const o = this.#o;
    this.#failures++;
    if (err === undefined) this.stats.shortWatches++;
    else this.stats.apiErrors++;
    const delay = backoffDelay(this.#failures, o.backoff ?? DEFAULT_BACKOFF, o.random ?? Math.random);
    if (err === undefined) o.log.debug(`Watch of ${o.what} closed at once: waiting before resuming`, { retryInMs: delay });
    else o.log.warn(`Kubernetes API call for ${o.what} failed: retrying`, { error: err, retryInMs: delay, attempt: this.#failures });
    await (o.sleep ?? abortableSleep)(delay, signal);
  }

  /** One watch stream; returns the next resourceVersion (undefined: relist). */
  async #watchOnce(rv: string, signal: AbortSignal): Promise<string | undefined> {
    const o = this.#o;
    const now = o.now ?? Date.now;
    let gone = false;
    let errorStatus: unknown;
    let events = 0;
    const started = now();
    try {
      this.stats.watchesStarted++;
      await o.api.watch(rv, (type, object) => {
        events++;
        this.stats.watchEvents++;
        if (type === "ERROR") {
          if ((object as { code?: unknown } | null)?.code === 410) gone = true;
          else errorStatus = object;
          return;
        }
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") o.apply(type, object);
        const version = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
        if (typeof version === "string" && version !== "") rv = version;
      }, signal);
    } catch (err) {
      if (signal.aborted) return rv;
      if (httpStatusOf(err) === 410) gone = true;
      else if ((err as { name?: unknown }).name === "TimeoutError") return rv; // a quiet stream: resume at once
      else {
        await this.#wait(signal, err);
        return rv;
      }
    }
    if (gone) {
      this.stats.relists++;
      o.log.info(`Watch of ${o.what} expired (410 Gone): relisting`, { resourceVersion: rv });
      return undefined;
    }
    if (errorStatus !== undefined) await this.#wait(signal, new Error(`Watch ERROR event: ${JSON.stringify(errorStatus)}`));
    else if (events === 0 && now() - started < 1000) await this.#wait(signal);
    else this.#failures = 0;
    return rv;
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
