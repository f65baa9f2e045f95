// core/cni/host-veth-alias: the alias (IFLA_IFALIAS) the plugin writes on every pod's host veth. A contract
// between the plugin (ADD writes it; DEL, GC and `kubenet status` find attachments by it, without the pod's
// netns) and the agent (its MTU detection leaves pod veths out by it). Pure.

/** What every host veth alias of ours starts with. */
const HOST_VETH_ALIAS_PREFIX = "kubenet:";

/** True when a link's alias marks it as a pod's host veth made by our plugin. */
export function isHostVethAlias(alias: string | undefined): boolean {
  return alias !== undefined && alias.startsWith(HOST_VETH_ALIAS_PREFIX);
}
