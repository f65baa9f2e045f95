// agent/sources/reflector: list + watch of a collection, kept current the way client-go's reflector (and
// our own Node source, kubernetes.ts) does it. Async; never throws out of `run`.
//  - list => every object and a resourceVersion (`replace`); then watch from there (`apply` per event);
//  - a stream that ends is resumed from the last resourceVersion seen (events and bookmarks advance it);
//  - 410 Gone (an ERROR event with code 410, or an HTTP 410) => relist;
//  - any other failure => capped exponential back-off with jitter, then resume (or relist);
//  - a stream that closes at once without an event is throttled like a failure.

import type { Logger } from "../log.js";
import { httpStatusOf } from "./kube-client.js";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions, type WatchStats } from "./kubernetes.js";

export interface ListWatchApi {
  list(): Promise<{ readonly items: readonly unknown[]; readonly resourceVersion: string }>;
  /** Resolves when the server ends the stream; rejects on errors (`statusCode`, or name "TimeoutError"). */
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
  const backoff = o.backoff ?? DEFAULT_BACKOFF;
  const sleep = o.sleep ?? abortableSleep;
  const random = o.random ?? Math.random;
  const now = o.now ?? Date.now;
  const stats: WatchStats = { lists: 0, relists: 0, watchesStarted: 0, watchEvents: 0, apiErrors: 0, shortWatches: 0 };
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  let failures = 0;
  const wait = async (signal: AbortSignal, err?: unknown): Promise<void> => {
    failures++;
    if (err === undefined) stats.shortWatches++;
    else stats.apiErrors++;
    const delay = backoffDelay(failures, backoff, random);
    if (err === undefined) o.log.debug(`Watch of ${o.what} closed at once: waiting before resuming`, { retryInMs: delay });
    else o.log.warn(`Kubernetes API call for ${o.what} failed: retrying`, { error: err, retryInMs: delay, attempt: failures });
    await sleep(delay, signal);
  };

  /** One watch stream; returns the next resourceVersion (undefined: relist). */
  async function watchOnce(rv: string, signal: AbortSignal): Promise<string | undefined> {
    let gone = false;
    let errorStatus: unknown;
    let events = 0;
    const started = now();
    try {
      stats.watchesStarted++;
      await o.api.watch(rv, (type, object) => {
        events++;
        stats.watchEvents++;
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
        await wait(signal, err);
        return rv;
      }
    }
    if (gone) {
      stats.relists++;
      o.log.info(`Watch of ${o.what} expired (410 Gone): relisting`, { resourceVersion: rv });
      return undefined;
    }
    if (errorStatus !== undefined) await wait(signal, new Error(`Watch ERROR event: ${JSON.stringify(errorStatus)}`));
    else if (events === 0 && now() - started < 1000) await wait(signal);
    else failures = 0;
    return rv;
  }

  async function run(signal: AbortSignal): Promise<void> {
    let rv: string | undefined;
    while (!signal.aborted) {
      if (rv === undefined) {
        try {
          const listed = await o.api.list();
          stats.lists++;
          o.replace(listed.items);
          rv = listed.resourceVersion;
          failures = 0;
          markSynced();
        } catch (err) {
          if (!signal.aborted) await wait(signal, err);
          continue;
        }
      }
      rv = await watchOnce(rv, signal);
    }
  }

  return { stats, synced: () => synced, run };
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
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
