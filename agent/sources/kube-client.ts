// agent/sources/kube-client: the NodeApi seam implemented with @kubernetes/client-node: one list with a
// field selector on the node's name, and watches from a resourceVersion. Async.
// The client library is loaded here, lazily, and only in Kubernetes mode: the static agent never loads it
// and nothing outside agent/ ever does (the plugin's start-up path stays small).

import type { ListWatchApi } from "./reflector.js";

export interface NodeListResult {
  /** The Node object, or undefined when no Node of that name exists. */
  readonly node: unknown;
  readonly resourceVersion: string;
}

export interface NodeApi {
  /** GET /api/v1/nodes?fieldSelector=metadata.name=<name> */
  list(nodeName: string): Promise<NodeListResult>;
  /**
   * GET /api/v1/nodes?watch=true&fieldSelector=...&resourceVersion=<rv>: calls `onEvent` for each event
   * and resolves when the server ends the stream; rejects on HTTP/connection errors (with `statusCode`
   * when the server answered) and on the client's inactivity timeout (`name` "TimeoutError").
   */
  watch(nodeName: string, resourceVersion: string, onEvent: (type: string, object: unknown) => void, signal: AbortSignal): Promise<void>;
}

export interface KubeClientOptions {
  /** Path of a kubeconfig file; undefined = in-cluster config (service account token + CA). */
  readonly kubeconfig: string | undefined;
}

/** The server-side watch timeout, randomised in [5, 10) min as client-go's reflector does. */
function watchTimeoutSeconds(): number {
  return 300 + Math.floor(Math.random() * 300);
}

export async function createKubeNodeApi(options: KubeClientOptions): Promise<NodeApi> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromCluster();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const watcher = new k8s.Watch(kc);
  return {
    async list(nodeName) {
      const list = await core.listNode({ fieldSelector: `metadata.name=${nodeName}` });
      return { node: list.items.find((n) => n.metadata?.name === nodeName), resourceVersion: list.metadata?.resourceVersion ?? "" };
    },
    watch(nodeName, resourceVersion, onEvent, signal) {
      return new Promise<void>((resolve, reject) => {
        let controller: AbortController | undefined;
        const onAbort = (): void => controller?.abort();
        const done = (err: unknown): void => {
          signal.removeEventListener("abort", onAbort);
          if (err === null || err === undefined) resolve();
          else reject(err instanceof Error ? err : new Error(String(err)));
        };
        watcher
          .watch(
            "/api/v1/nodes",
            {
              fieldSelector: `metadata.name=${nodeName}`,
              resourceVersion,
              allowWatchBookmarks: true,
              timeoutSeconds: watchTimeoutSeconds(),
            },
            (type: string, object: unknown) => onEvent(type, object),
            done,
          )
          .then((c) => {
            controller = c;
            if (signal.aborted) c.abort();
            else signal.addEventListener("abort", onAbort, { once: true });
          }, done);
      });
    },
  };
}

/**
 * Every Node (host-gw): GET /api/v1/nodes, then watches of the whole collection from a resourceVersion,
 * with bookmarks and the reflector's randomised server-side timeout.
 */
export async function createKubeNodesListWatch(options: KubeClientOptions): Promise<ListWatchApi> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromCluster();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const watcher = new k8s.Watch(kc);
  return {
    async list() {
      const list = await core.listNode();
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
    },
    watch(resourceVersion, onEvent, signal) {
      return new Promise<void>((resolve, reject) => {
        let controller: AbortController | undefined;
        const onAbort = (): void => controller?.abort();
        const done = (err: unknown): void => {
          signal.removeEventListener("abort", onAbort);
          if (err === null || err === undefined) resolve();
          else reject(err instanceof Error ? err : new Error(String(err)));
        };
        const query = { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds() };
        watcher.watch("/api/v1/nodes", query, (type: string, object: unknown) => onEvent(type, object), done).then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }, done);
      });
    },
  };
}

/** The HTTP status of a failed client call (Watch sets `statusCode`, the generated API `code`). */
export function httpStatusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; code?: unknown } | null | undefined;
  if (typeof e?.statusCode === "number") return e.statusCode;
  if (typeof e?.code === "number") return e.code;
  return undefined;
}
