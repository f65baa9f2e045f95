// agent/sources/kubernetes: the node's PodCIDRs from its Node object, kept current by list + watch, the
// way client-go's reflector does it. Async; never throws out of `run`.
//  - list (field selector on the node name) => the object and a resourceVersion; then watch from there.
//  - a stream the server (or the client's inactivity timer) ends is resumed from the last resourceVersion
//    seen (events and bookmarks advance it);
//  - 410 Gone (an ERROR event with a Status of code 410, or an HTTP 410) => relist;
//  - any other failure => exponential back-off (capped), then resume (or relist if nothing was listed yet).
// Until the Node has spec.podCIDR(s), `current()` is undefined and the agent writes nothing.

import type { Logger } from "../log.js";
import { httpStatusOf, type NodeApi } from "./kube-client.js";
import { formatPodCidrs, parsePodCidrs, podCidrTextsOfNode, samePodCidrs, type PodCidrs, type PodCidrSource } from "./pod-cidrs.js";

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

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

export interface KubernetesSourceOptions {
  readonly api: NodeApi;
  readonly nodeName: string;
  readonly log: Logger;
  readonly backoff?: BackoffOptions;
  /** For tests: replaces timers. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface KubernetesSource extends PodCidrSource {
  readonly stats: Readonly<WatchStats>;
}

/** Delay before retry number `attempt` (1-based): initial * 2^(attempt-1), capped, with +-20 % jitter. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export function createKubernetesSource(options: KubernetesSourceOptions): KubernetesSource {
  const { api, nodeName, log } = options;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const stats: WatchStats = { lists: 0, relists: 0, watchesStarted: 0, watchEvents: 0, apiErrors: 0, shortWatches: 0 };
  let cidrs: PodCidrs | undefined;
  let invalid: Error | undefined;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  /** Takes the PodCIDRs of a Node object; returns true when they changed. */
  function applyNode(node: unknown): boolean {
    const texts = podCidrTextsOfNode(node);
    if (texts === undefined) {
      if (cidrs !== undefined) {
        // Kubernetes never unassigns a PodCIDR; if it happens, the datapath keeps the last one.
        log.warn("Node lost its PodCIDR: keeping the last one", { node: nodeName, podCIDRs: formatPodCidrs(cidrs) });
      }
      return false;
    }
    try {
      const next = parsePodCidrs(texts);
      invalid = undefined;
      if (samePodCidrs(cidrs, next)) return false;
      log.info("PodCIDR assigned", { node: nodeName, podCIDRs: formatPodCidrs(next), previous: formatPodCidrs(cidrs) });
      cidrs = next;
      return true;
    } catch (err) {
      invalid = err as Error;
      log.error("Node has an invalid PodCIDR", { node: nodeName, error: err });
      return false;
    }
  }

  async function run(onChange: () => void, signal: AbortSignal): Promise<void> {
    let rv: string | undefined;
    let failures = 0;
    const retry = async (err: unknown, what: string): Promise<void> => {
      failures++;
      stats.apiErrors++;
      const delay = backoffDelay(failures, backoff, random);
      log.warn(`Kubernetes API ${what} failed: retrying`, { node: nodeName, error: err, retryInMs: delay, attempt: failures });
      await sleep(delay, signal);
    };
    const throttle = async (): Promise<void> => {
      failures++;
      stats.shortWatches++;
      const delay = backoffDelay(failures, backoff, random);
      log.debug("Watch stream closed at once: waiting before resuming", { node: nodeName, retryInMs: delay });
      await sleep(delay, signal);
    };
    while (!signal.aborted) {
      if (rv === undefined) {
        try {
          const listed = await api.list(nodeName);
          stats.lists++;
          if (listed.node === undefined) log.warn("Node object not found: waiting for it to be registered", { node: nodeName });
          if (applyNode(listed.node)) onChange();
          rv = listed.resourceVersion;
          failures = 0;
          markSynced();
        } catch (err) {
          if (signal.aborted) break;
          await retry(err, "list");
          continue;
        }
      }
      let gone = false;
      let errorStatus: unknown;
      let events = 0;
      const started = now();
      try {
        stats.watchesStarted++;
        await api.watch(
          nodeName,
          rv,
          (type, object) => {
            events++;
            stats.watchEvents++;
            const version = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
            switch (type) {
              case "ADDED":
              case "MODIFIED":
                if (applyNode(object)) onChange();
                break;
              case "DELETED":
                log.warn("Node object deleted: keeping the last PodCIDR", { node: nodeName });
                break;
              case "BOOKMARK":
                break;
              case "ERROR":
                if ((object as { code?: unknown } | null)?.code === 410) gone = true;
                else errorStatus = object;
                return;
              default:
                return;
            }
            if (typeof version === "string" && version !== "") rv = version;
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) break;
        if (httpStatusOf(err) === 410) {
          gone = true;
        } else if ((err as { name?: unknown }).name === "TimeoutError") {
          // The client's inactivity timer ended a quiet stream: resume at once (it already waited).
          continue;
        } else {
          await retry(err, "watch");
          continue;
        }
      }
      if (signal.aborted) break;
      if (gone) {
        stats.relists++;
        log.info("Watch expired (410 Gone): relisting", { node: nodeName, resourceVersion: rv });
        rv = undefined;
        continue;
      }
      if (errorStatus !== undefined) {
        await retry(new Error(`Watch ERROR event: ${JSON.stringify(errorStatus)}`), "watch");
        continue;
      }
      // The server ended the stream (its timeout, or a restart): resume from rv. A stream that ends at once
      // without a single event must not turn into a tight loop against a struggling server.
      if (events === 0 && now() - started < 1000) {
        await throttle();
      } else {
        failures = 0;
        log.debug("Watch stream ended: resuming", { node: nodeName, resourceVersion: rv });
      }
    }
  }

  return {
    kind: "kubernetes",
    stats,
    run,
    synced: () => synced,
    current() {
      if (invalid !== undefined && cidrs === undefined) return Promise.reject(invalid);
      return Promise.resolve(cidrs);
    },
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
