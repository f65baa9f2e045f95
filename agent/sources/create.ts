// agent/sources/create: the PodCIDR source named by the config. Async only because the Kubernetes client
// is loaded lazily (static mode never loads it).

import type { AgentConfig, SourceConfig } from "../config.js";
import type { Logger } from "../log.js";
import { createKubeNodesListWatch } from "./kube-client.js";
import { createNodesPeerSource, createPeersFileSource, type PeerSource } from "./peers.js";
import { createKubernetesSource, type KubernetesSource } from "./kubernetes.js";
import type { PodCidrSource } from "./pod-cidrs.js";
import { createStaticFileSource, createStaticSource } from "./static.js";

export async function createSource(config: SourceConfig, log: Logger): Promise<PodCidrSource | KubernetesSource> {
  switch (config.kind) {
    case "static":
      return createStaticSource(config.podCidrs);
    case "static-file":
      return createStaticFileSource(config.path);
    case "kubernetes": {
      const api = await createKubeNodesListWatch({ kubeconfig: config.kubeconfig, nodeName: config.nodeName });
      log.info("Watching the Node object", { node: config.nodeName, kubeconfig: config.kubeconfig ?? "in-cluster" });
      return createKubernetesSource({ api, nodeName: config.nodeName, log });
    }
  }
}

/**
 * host-gw's view of the other nodes: the --peers-file when given, else every Node object through the same
 * kubeconfig (or in-cluster account) as the node's own watch. Undefined when routing is off.
 */
export async function createPeerSource(config: AgentConfig, log: Logger): Promise<PeerSource | undefined> {
  if (config.routes !== "host-gw") return undefined;
  if (config.peersFile !== undefined) {
    log.info("host-gw peers from a file", { path: config.peersFile });
    return createPeersFileSource(config.peersFile);
  }
  if (config.source.kind !== "kubernetes") throw new Error("--routes host-gw needs --peers-file without a Kubernetes API");
  const api = await createKubeNodesListWatch({ kubeconfig: config.source.kubeconfig });
  log.info("Watching all Node objects for host-gw routes", { kubeconfig: config.source.kubeconfig ?? "in-cluster" });
  return createNodesPeerSource({ api, log });
}
