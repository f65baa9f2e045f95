// agent/sources/kube-client: the reflector's ListWatchApi for Node objects, implemented with
// @kubernetes/client-node: lists and watches from a resourceVersion, of one Node or all. Async.
// The client library is loaded here, lazily, and only in Kubernetes mode: the static agent never loads it
// and nothing outside agent/ ever does (the plugin's start-up path stays small).

import type { ListWatchApi } from "./reflector.js";

export interface KubeClientOptions {
  /** Path of a kubeconfig file; undefined = in-cluster config (service account token + CA). */
  readonly kubeconfig: string | undefined;
}

/** The server-side watch timeout, randomised in [5, 10) min as client-go's reflector does. */
function watchTimeoutSeconds(): number {
  return 300 + Math.floor(Math.random() * 300);
}

/** The client library and a CoreV1 client, from a kubeconfig file or the in-cluster service account. */
async function connect(options: KubeClientOptions) {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromCluster();
  return { core: kc.makeApiClient(k8s.CoreV1Api), watcher: new k8s.Watch(kc) };
}

/**
 * Node objects for the reflector: GET /api/v1/nodes, then watches from a resourceVersion with bookmarks and
 * the reflector's randomised server-side timeout. With `nodeName`, narrowed to that one Node by a field
 * selector (the node's own PodCIDR); without, every Node (host-gw's peers).
 */
export async function createKubeNodesListWatch(options: KubeClientOptions & { readonly nodeName?: string }): Promise<ListWatchApi> {
  const { core, watcher } = await connect(options);
  const selector = options.nodeName === undefined ? {} : { fieldSelector: `metadata.name=${options.nodeName}` };
  return {
    async list() {
      const list = await core.listNode(selector);
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
        const query = { ...selector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds() };
        watcher.watch("/api/v1/nodes", query, (type: string, object: unknown) => onEvent(type, object), done).then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
          else signal.addEventListener("abort", onAbort, { once: true });
        }, done);
      });
    },
  };
}
