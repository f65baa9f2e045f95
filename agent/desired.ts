// agent/desired: everything the node should look like for a set of PodCIDRs, computed in one pure function
// (ip-masq-agent's loop minus its globals): the conflist text, cbr0's addresses and MTU, the sysctls, and
// the masquerade chain of each family. The reconcilers then only compare and apply.

import { containsNet, type IpFamily, type IpNet } from "../core/ip.js";
import { parseCidr } from "../core/ip-parse.js";
import type { MasqConfig } from "./masq/ip-masq-config.js";
import type { MasqChainSpec } from "./masq/render.js";
import type { BridgeDesired } from "./reconcilers/bridge.js";
import { gatewayOf, renderConflist } from "./reconcilers/conflist.js";
import { desiredSysctls, type SysctlSetting } from "./reconcilers/sysctls.js";
import type { PodCidrs } from "./sources/pod-cidrs.js";

const LINK_LOCAL: Readonly<Record<IpFamily, IpNet>> = { 4: parseCidr("169.254.0.0/16"), 6: parseCidr("fe80::/10") };

export interface DesiredInput {
  readonly podCidrs: PodCidrs;
  readonly clusterCidrs: readonly IpNet[];
  readonly masq: MasqConfig;
  readonly mtu: number;
  readonly randomFully: boolean;
  readonly bridgeName: string;
  readonly masqChain: string;
  readonly ipamDataDir: string;
  readonly cniVersion: string;
  /** Capabilities declared in the conflist (see ConflistInput). */
  readonly capabilities?: Readonly<Record<string, boolean>>;
  readonly agentSocket?: string | undefined;
}

export interface DesiredState {
  readonly podCidrs: PodCidrs;
  readonly families: readonly IpFamily[];
  readonly conflist: string;
  readonly bridge: BridgeDesired;
  readonly sysctls: readonly SysctlSetting[];
  /** One chain spec per PodCIDR family (v4 for iptables, v6 for ip6tables). */
  readonly masq: readonly MasqChainSpec[];
}

/**
 * The destinations traffic from `podCidr` keeps its source address for, in chain order:
 *  1. link-local, unless masqLinkLocal(IPv6) is set;
 *  2. the config's nonMasqueradeCIDRs of this family when the key is present, else the cluster CIDR(s),
 *     else the PodCIDR itself (a node with no cluster CIDR given keeps pod-to-pod traffic unmasqueraded);
 *  3. the PodCIDR, when the list above does not already cover it: same-node pod-to-pod traffic crosses
 *     the bridge through the nat hooks (br_netfilter) and must never be masqueraded.
 */
function nonMasqueradeDestinations(
  podCidr: IpNet,
  clusterCidrs: readonly IpNet[],
  masq: MasqConfig,
): { readonly cidr: IpNet; readonly linkLocal: boolean }[] {
  const family = podCidr.addr.family;
  const out: { cidr: IpNet; linkLocal: boolean }[] = [];
  const masqLinkLocal = family === 4 ? masq.masqLinkLocal : masq.masqLinkLocalIpv6;
  if (!masqLinkLocal) out.push({ cidr: LINK_LOCAL[family], linkLocal: true });
  const ofFamily = (list: readonly IpNet[]): IpNet[] => list.filter((c) => c.addr.family === family);
  const configured = masq.nonMasqueradeCidrs === undefined ? undefined : ofFamily(masq.nonMasqueradeCidrs);
  const clusters = ofFamily(clusterCidrs);
  const base = configured ?? (clusters.length > 0 ? clusters : [podCidr]);
  for (const cidr of base) out.push({ cidr, linkLocal: false });
  if (!base.some((c) => containsNet(c, podCidr))) out.push({ cidr: podCidr, linkLocal: false });
  return out;
}

export function computeDesired(input: DesiredInput): DesiredState {
  const families = [...new Set(input.podCidrs.map((c) => c.addr.family))];
  return {
    podCidrs: input.podCidrs,
    families,
    conflist: renderConflist({
      podCidrs: input.podCidrs,
      bridge: input.bridgeName,
      mtu: input.mtu,
      ipamDataDir: input.ipamDataDir,
      cniVersion: input.cniVersion,
      ...(input.capabilities !== undefined ? { capabilities: input.capabilities } : {}),
      agentSocket: input.agentSocket,
    }),
    bridge: { name: input.bridgeName, addresses: input.podCidrs.map(gatewayOf), mtu: input.mtu },
    sysctls: desiredSysctls(families),
    masq: input.podCidrs.map((podCidr) => ({
      family: podCidr.addr.family,
      chain: input.masqChain,
      podCidr,
      returnCidrs: nonMasqueradeDestinations(podCidr, input.clusterCidrs, input.masq),
      randomFully: input.randomFully,
    })),
  };
}
