// plugin/portmap/commands: the `portmap` drop-in (chained after a plugin that made the pod's interface), with
// the reference's keys and exact chain layout (rules.ts), so the reference's DEL removes what this one added
// and the other way round. Differences on purpose: DEL removes the pod's chain even without runtimeConfig
// (the chain name derives from network + container ID); all of a pod's rules of one family are one
// iptables-restore; GC is implemented; errors carry spec codes.

import { CNI_ERROR_CODE, CniError } from "../../core/cni/errors.js";
import type { NetConf } from "../../core/cni/netconf.js";
import { DEFAULT_PORT_MAP_OPTIONS } from "../../core/cni/portmap-conf.js";
import type { Result } from "../../core/cni/result.js";
import { containsIp, networkOf, type IpNet } from "../../core/ip.js";
import { openHostNs } from "../bridge/netns.js";
import { xtablesContextOf } from "../bridge/xtables.js";
import type { CheckRequest, PluginCommands, PluginContext } from "../types.js";
import { checkHostPorts, gcHostPorts, portRequestOf, setupHostPorts, teardownHostPorts } from "./portmap.js";

/** The first IPv4 and first IPv6 address of prevResult on CNI_IFNAME in a sandbox (as the reference picks). */
function podAddrsOf(prev: Result, ifName: string): IpNet[] {
  const out: IpNet[] = [];
  for (const ip of prev.ips) {
    if (out.some((a) => a.addr.family === ip.address.addr.family)) continue;
    const iface = ip.interface === undefined ? undefined : prev.interfaces[ip.interface];
    if (iface !== undefined && (iface.name !== ifName || !iface.sandbox)) continue;
    out.push(ip.address);
  }
  return out;
}

const xcOf = (conf: NetConf, ctx: PluginContext) => xtablesContextOf(conf, ctx, "portmap");

/** route_localnet on the host interface whose subnet holds the pod's IPv4 address (the bridge), as the reference. */
function enableRouteLocalnet(pod: IpNet, ctx: PluginContext): void {
  const host = openHostNs(ctx.hostNetnsPath);
  try {
    const addr = host.rtnl.addrList({ family: 4 }).find((a) => containsIp(networkOf(a.address), pod.addr));
    const link = addr === undefined ? undefined : host.rtnl.linkFindByIndex(addr.index);
    if (link !== undefined) host.sysctl([{ name: `net/ipv4/conf/${link.name}/route_localnet`, value: "1" }]);
  } finally {
    host.close();
  }
}

function prevResultOf(conf: NetConf, what: string): Result {
  if (conf.prevResult === undefined) {
    throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `portmap ${what} must be called as a chained plugin: "prevResult" is missing`);
  }
  return conf.prevResult;
}

export const portmapCommands: PluginCommands = {
  async add(req, ctx) {
    const prev = prevResultOf(req.conf, "ADD");
    if (req.conf.portMappings.length === 0) return prev;
    const pr = portRequestOf(req.conf, req.containerId, podAddrsOf(prev, req.ifName), ctx.hostNetnsPath);
    await setupHostPorts(xcOf(req.conf, ctx), pr);
    const v4 = pr.podAddrs.find((a) => a.addr.family === 4);
    if (pr.options.snat && v4 !== undefined) enableRouteLocalnet(v4, ctx);
    return prev;
  },
  async del(req, ctx) {
    // The runtime passes the mappings and prevResult again: DEL then deletes exactly those rules, in the
    // families the pod has, without reading the table first (it still does when they do not match).
    const prev = req.conf.prevResult;
    const families = prev === undefined ? [] : [...new Set(podAddrsOf(prev, req.ifName).map((a) => a.addr.family))];
    const known = req.conf.portMappings.length > 0 && families.length > 0 ? { mappings: req.conf.portMappings, options: req.conf.portMap ?? DEFAULT_PORT_MAP_OPTIONS, families } : undefined;
    await teardownHostPorts(xcOf(req.conf, ctx), { network: req.conf.name, containerId: req.containerId }, known);
  },
  async check(req: CheckRequest, ctx) {
    const prev = prevResultOf(req.conf, "CHECK");
    await checkHostPorts(xcOf(req.conf, ctx), portRequestOf(req.conf, req.containerId, podAddrsOf(prev, req.ifName), ctx.hostNetnsPath));
  },
  async gc(req, ctx) {
    const removed = await gcHostPorts(xcOf(req.conf, ctx), req.conf.name, new Set(req.validAttachments.map((a) => a.containerId)));
    if (removed.length > 0) ctx.log.info("GC: removed host-port chains of attachments that are no longer valid", { chains: removed });
  },
  status: () => undefined,
};
