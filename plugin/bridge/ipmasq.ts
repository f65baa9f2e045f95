// plugin/bridge/ipmasq: "ipMasq": true, the reference bridge plugin's per-container SNAT (layout in
// ipmasq-rules.ts), applied through xtables.ts (the iptables tools on the runtime's PATH). Async; never runs
// under the IPAM lock. Per family: one `iptables-save -t nat` read, then at most one
// `iptables-restore --noflush` transaction; families in parallel.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { IpFamily, IpNet } from "../../core/ip.js";
import type { NetConf } from "../../core/cni/netconf.js";
import type { PluginContext } from "../types.js";
import { chainNameFromDigest, formatComment, masqRuleSet, missingFrom, renderSetup, renderTeardown, staleChains } from "./ipmasq-rules.js";
import { FAMILIES, ownerDigest, readNat, restoreNat as restore, xtablesContextOf, type XtablesContext } from "./xtables.js";

export type MasqContext = XtablesContext;

/** The attachment a chain belongs to. The reference keys it by network and container (not ifname). */
export interface MasqOwner {
  readonly network: string;
  readonly containerId: string;
}

/** The chain name of (network, containerID): "CNI-" + the first 24 hex digits of sha512(network + id). */
function masqChainName(network: string, containerId: string): string {
  return chainNameFromDigest(ownerDigest(network, containerId));
}

export const masqContextOf = (conf: NetConf, ctx: PluginContext): MasqContext => xtablesContextOf(conf, ctx, '"ipMasq": true');

export const masqOwnerOf = (req: { readonly conf: NetConf; readonly containerId: string }): MasqOwner => ({
  network: req.conf.name,
  containerId: req.containerId,
});

const familiesOf = (addrs: readonly IpNet[]): IpFamily[] => FAMILIES.filter((f) => addrs.some((a) => a.addr.family === f));

/**
 * ADD: the chain with its rules and one POSTROUTING jump per pod address, per family, in one
 * iptables-restore transaction each (families in parallel). A jump that already exists is not added twice;
 * jumps of this chain for other addresses (a crashed earlier attempt) are removed in the same transaction.
 */
export async function setupIpMasq(mc: MasqContext, owner: MasqOwner, addrs: readonly IpNet[]): Promise<void> {
  const chain = masqChainName(owner.network, owner.containerId);
  const comment = formatComment(owner.network, owner.containerId);
  const what = `could not set up masquerading (ipMasq) for ${q(owner.containerId)}`;
  await Promise.all(
    familiesOf(addrs).map((family) =>
      readNat(mc, family, what, false).then((table) => restore(mc, family, what, renderSetup(table, masqRuleSet(chain, comment, family, addrs)))),
    ),
  );
}

async function teardownChains(mc: MasqContext, chains: readonly string[], what: string): Promise<number> {
  const removed = await Promise.all(
    FAMILIES.map((family) =>
      readNat(mc, family, what, true).then(async (table) => {
        const payload = renderTeardown(table, chains);
        if (payload === undefined) return 0;
        await restore(mc, family, what, payload);
        return chains.filter((c) => table.chains.has(c)).length;
      }),
    ),
  );
  return removed.reduce((a, b) => a + b, 0);
}

/**
 * DEL / rollback: removes every jump to the owner's chain and the chain, in both families. Needs neither
 * the netns nor the pod address (the chain name is derived from network + container ID), so it also cleans
 * up after a netns that is already gone (the reference cannot). Nothing there is success.
 */
export async function teardownIpMasq(mc: MasqContext, owner: MasqOwner): Promise<void> {
  const chain = masqChainName(owner.network, owner.containerId);
  const n = await teardownChains(mc, [chain], `could not remove the masquerade chain ${chain} of ${q(owner.containerId)}`);
  if (n > 0) mc.log.info("removed the masquerade chain", { chain, families: n });
}

/** CHECK: the chain, its rules and the jumps for the pod addresses exist. @throws CniError 105 naming what is missing */
export async function checkIpMasq(mc: MasqContext, owner: MasqOwner, addrs: readonly IpNet[]): Promise<void> {
  const chain = masqChainName(owner.network, owner.containerId);
  const comment = formatComment(owner.network, owner.containerId);
  const what = `could not read the masquerade rules of ${q(owner.containerId)}`;
  for (const family of familiesOf(addrs)) {
    const table = await readNat(mc, family, what, false);
    const missing = missingFrom(table, masqRuleSet(chain, comment, family, addrs));
    if (missing.length > 0) {
      throw new CniError(
        CNI_ERROR_CODE.CHECK_MISMATCH,
        `masquerading ("ipMasq": true) of ${q(owner.containerId)}: ${missing.join("; ")} (${family === 4 ? "iptables" : "ip6tables"} -t nat)`,
      );
    }
  }
}

/**
 * GC: removes the chains (and jumps) of this network whose container is not among `validIds`, found by the
 * comment on their rules. Returns the chains removed.
 */
export async function gcIpMasq(mc: MasqContext, network: string, validIds: ReadonlySet<string>): Promise<string[]> {
  const what = `could not remove stale masquerade chains of network ${q(network)}`;
  const removed = await Promise.all(
    FAMILIES.map((family) =>
      readNat(mc, family, what, true).then(async (table) => {
        const stale = staleChains(table, network, validIds, masqChainName);
        const payload = renderTeardown(table, stale);
        if (payload !== undefined) await restore(mc, family, what, payload);
        return stale;
      }),
    ),
  );
  return [...new Set(removed.flat())].sort();
}
