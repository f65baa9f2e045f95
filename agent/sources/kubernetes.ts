// agent/sources/kubernetes: the node's PodCIDRs from its Node object, kept current by the reflector's list +
// watch (reflector.ts: resume from the last resourceVersion, relist on 410 Gone, capped back-off on errors,
// throttled empty streams) of a collection narrowed to this one Node. Async; never throws out of `run`.
// Until the Node has spec.podCIDR(s), `current()` is undefined and the agent writes nothing.

import type { Logger } from "../log.js";
import { formatPodCidrs, parsePodCidrs, podCidrTextsOfNode, samePodCidrs, type PodCidrs, type PodCidrSource } from "./pod-cidrs.js";
import { createReflector, type ListWatchApi, type ReflectorOptions, type WatchStats } from "./reflector.js";

/** The reflector's timing options pass through (tests replace timers with them). */
export type KubernetesSourceOptions = {
  /** The Node collection narrowed to this node (field selector metadata.name). */
  readonly api: ListWatchApi;
  readonly nodeName: string;
  readonly log: Logger;
} & Partial<Pick<ReflectorOptions, "sleep" | "random" | "now" | "backoff">>;

export interface KubernetesSource extends PodCidrSource {
  readonly stats: Readonly<WatchStats>;
}

const nameOf = (o: unknown): unknown => (o as { metadata?: { name?: unknown } } | null)?.metadata?.name;

export function createKubernetesSource(options: KubernetesSourceOptions): KubernetesSource {
  const { nodeName, log } = options;
  let cidrs: PodCidrs | undefined;
  let invalid: Error | undefined;
  let onChange: () => void = () => undefined;

  /** Takes the PodCIDRs of a Node object; calls onChange when they changed. */
  function applyNode(node: unknown): void {
    const texts = podCidrTextsOfNode(node);
    if (texts === undefined) {
      // Kubernetes never unassigns a PodCIDR; if it happens, the datapath keeps the last one.
      if (cidrs !== undefined) log.warn("Node lost its PodCIDR: keeping the last one", { node: nodeName, podCIDRs: formatPodCidrs(cidrs) });
      return;
    }
    try {
      const next = parsePodCidrs(texts);
      invalid = undefined;
      if (samePodCidrs(cidrs, next)) return;
      log.info("PodCIDR assigned", { node: nodeName, podCIDRs: formatPodCidrs(next), previous: formatPodCidrs(cidrs) });
      cidrs = next;
      onChange();
    } catch (err) {
      invalid = err as Error;
      log.error("Node has an invalid PodCIDR", { node: nodeName, error: err });
    }
  }

  const reflector = createReflector({
    ...options,
    what: `node ${nodeName}`,
    replace(items) {
      const node = items.find((n) => nameOf(n) === nodeName);
      if (node === undefined) log.warn("Node object not found: waiting for it to be registered", { node: nodeName });
      applyNode(node);
    },
    apply(type, object) {
      if (type === "DELETED") log.warn("Node object deleted: keeping the last PodCIDR", { node: nodeName });
      else applyNode(object);
    },
  });

  return {
    kind: "kubernetes",
    stats: reflector.stats,
    run(notify, signal) {
      onChange = notify;
      return reflector.run(signal);
    },
    synced: () => reflector.synced(),
    current() {
      if (invalid !== undefined && cidrs === undefined) return Promise.reject(invalid);
      return Promise.resolve(cidrs);
    },
  };
}
