// core/cni/host-veth-alias: the alias (IFLA_IFALIAS) the plugin writes on every pod's host veth. A contract
// between the plugin (ADD writes it; DEL, GC, CHECK and `kubenet status` find attachments by it, without
// the pod's netns) and the agent (its MTU detection leaves pod veths out by it). Pure.

/** What every host veth alias of ours starts with. */
const HOST_VETH_ALIAS_PREFIX = "kubenet:";

/**
 * "kubenet:<network>:<containerID>:<ifname>". The network is part of it so that GC of one network never
 * touches the veths of another network sharing the bridge; neither the network name nor the container ID
 * may contain ":" (spec grammar), so the fields cannot run into each other.
 */
export function hostVethAlias(network: string, containerId: string, ifName: string): string {
  // Never truncated (two attachments could then share one): ADD refuses one longer than the kernel keeps
  // (core/cni/limits checkHostVethAlias), so a DEL with a longer one has no veth to find.
  return `${hostVethAliasPrefix(network)}${containerId}:${ifName}`;
}

/** What every host veth alias of this network starts with. */
export function hostVethAliasPrefix(network: string): string {
  return `${HOST_VETH_ALIAS_PREFIX}${network}:`;
}

/** True when a link's alias marks it as a pod's host veth made by our plugin (any network). */
export function isHostVethAlias(alias: string | undefined): boolean {
  return alias !== undefined && alias.startsWith(HOST_VETH_ALIAS_PREFIX);
}
