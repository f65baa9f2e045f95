// agent/sources/create: the PodCIDR source named by the config. Async only because the Kubernetes client
// is loaded lazily (static mode never loads it).

import type { SourceConfig } from "../config.js";
import type { Logger } from "../log.js";
import { createKubeNodeApi } from "./kube-client.js";
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
      const api = await createKubeNodeApi({ kubeconfig: config.kubeconfig });
      log.info("Watching the Node object", { node: config.nodeName, kubeconfig: config.kubeconfig ?? "in-cluster" });
      return createKubernetesSource({ api, nodeName: config.nodeName, log });
    }
  }
}
