// agent/sources/peers: where host-gw learns the other nodes: every Node object by list + watch (Kubernetes
// mode), or a static peers file re-read at every resync (--peers-file). Async.

import { readFile } from "node:fs/promises";
import type { Logger } from "../log.js";
import { parsePeersFile, PeersFileError, peerOfNode, type Peer } from "../routes/peers.js";
import { createReflector, type ListWatchApi, type ReflectorOptions, type WatchStats } from "./reflector.js";
import { waitForAbort } from "./static.js";

export interface PeerSource {
  /** Watches in the background (Kubernetes); `onChange` fires when a node's routing fields changed. */
  run(onChange: () => void, signal: AbortSignal): Promise<void>;
  /** Resolves once the first answer is in (the file: at once; Kubernetes: the first list). */
  synced(): Promise<void>;
  /** The peers now. @throws when they cannot be known (unreadable file): routes then stay as they are. */
  current(): Promise<readonly Peer[]>;
  readonly stats?: Readonly<WatchStats>;
}

export function createPeersFileSource(path: string): PeerSource {
  return {
    run: (_onChange, signal) => waitForAbort(signal),
    synced: () => Promise.resolve(),
    async current() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (cause) {
        throw new PeersFileError(`Cannot read the peers file ${JSON.stringify(path)}`, { cause });
      }
      return parsePeersFile(text, path);
    },
  };
}

/** The fields routing depends on: a change elsewhere in the Node (heartbeats, labels) is no change. */
const routingKey = (p: Peer | undefined): string => (p === undefined ? "" : JSON.stringify([p.podCidrs, p.internalIps, p.problem], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));

export function createNodesPeerSource(options: { api: ListWatchApi; log: Logger } & Partial<Pick<ReflectorOptions, "sleep" | "random" | "now" | "backoff">>): PeerSource {
  const peers = new Map<string, Peer>();
  let notify: () => void = () => undefined;
  const set = (name: string, next: Peer | undefined): boolean => {
    const changed = routingKey(peers.get(name)) !== routingKey(next);
    if (next === undefined) peers.delete(name);
    else peers.set(name, next);
    return changed;
  };
  const reflector = createReflector({
    ...options,
    what: "nodes",
    replace(items) {
      const fresh = new Map<string, Peer>();
      for (const item of items) {
        const p = peerOfNode(item);
        if (p !== undefined) fresh.set(p.name, p);
      }
      let changed = false;
      for (const name of [...peers.keys()]) if (!fresh.has(name)) changed = set(name, undefined) || changed;
      for (const [name, p] of fresh) changed = set(name, p) || changed;
      if (changed) notify();
    },
    apply(type, object) {
      const p = peerOfNode(object);
      if (p === undefined) return;
      if (set(p.name, type === "DELETED" ? undefined : p)) notify();
    },
  });
  return {
    stats: reflector.stats,
    synced: () => reflector.synced(),
    current: () => Promise.resolve([...peers.values()]),
    run(onChange, signal) {
      notify = onChange;
      return reflector.run(signal);
    },
  };
}
