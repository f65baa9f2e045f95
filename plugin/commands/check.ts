// plugin/commands/check: CNI CHECK for the bridge datapath. Compares the kernel with prevResult (the ADD
// result the runtime cached) and the config: the lease, the bridge, the pod interface (exists, veth, up,
// MAC), its addresses and routes, the host veth (on the bridge, hairpin as configured) and, with ipMasq,
// the container's masquerade chain and jumps. The first
// difference is a CniError 105 that names it. Synchronous apart from a delegated IPAM CHECK.

import { checkBandwidth } from "../bandwidth/attach.js";
import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import { hostVethAlias } from "../../core/cni/host-veth-alias.js";
import type { CniInterface, Result } from "../../core/cni/result.js";
import { formatCidr, netEqual, type IpNet } from "../../core/ip.js";
import { bridgeConfOf, findBridge } from "../bridge/bridge.js";
import { describeRoute, routeMatches } from "../bridge/container-iface.js";
import { checkIpMasq, masqContextOf, masqOwnerOf } from "../bridge/ipmasq.js";
import { hostPortsContextOf } from "../portmap/kubenet.js";
import { checkHostPorts, portRequestOf } from "../portmap/portmap.js";
import { getContainerNs, openHostNs, type NsHandle } from "../bridge/netns.js";
import type { Link } from "../../native/index.js";
import { ipamCallOf, ipamCheck } from "../ipam/index.js";
import type { CheckRequest, PluginContext } from "../types.js";

function mismatch(msg: string): CniError {
  return new CniError(CNI_ERROR_CODE.CHECK_MISMATCH, msg);
}

/** The pod interface's index in prevResult: by name and sandbox (sandbox may be absent in old results). */
function podInterfaceIndex(prev: Result, ifName: string, netns: string): number {
  const exact = prev.interfaces.findIndex((i) => i.name === ifName && i.sandbox === netns);
  if (exact >= 0) return exact;
  return prev.interfaces.findIndex((i) => i.name === ifName && (i.sandbox === undefined || i.sandbox === ""));
}

/**
 * ipMasq: the container's chain, its rules and a POSTROUTING jump per pod address; host ports (kubenet type):
 * the CNI-DN chain, its rules and its jumps.
 */
async function checkRules(req: CheckRequest, ctx: PluginContext, podIps: readonly IpNet[]): Promise<void> {
  const conf = req.conf;
  if (podIps.length === 0) return;
  if (bridgeConfOf(conf).ipMasq) await checkIpMasq(masqContextOf(conf, ctx), masqOwnerOf(req), podIps);
  if (conf.plugin === "kubenet") await checkHostPorts(hostPortsContextOf(conf, ctx), portRequestOf(conf, req.containerId, podIps, ctx.hostNetnsPath));
}

/** The pod interface's addresses from prevResult, and each prevResult route of a family it has an address in. */
function checkPodAddrsAndRoutes(container: NsHandle, link: Link, prev: Result, idx: number, ifName: string, where: string): void {
  const addrs = container.rtnl.addrList({ index: link.index });
  for (const ip of prev.ips.filter((i) => i.interface === idx)) {
    if (!addrs.some((a) => netEqual(a.address, ip.address))) throw mismatch(`address ${formatCidr(ip.address)} is missing on ${q(ifName)} ${where}`);
  }
  const families = new Set(addrs.map((a) => a.family));
  for (const route of prev.routes) {
    if (!families.has(route.dst.addr.family)) continue;
    const table = container.rtnl.routeList({ family: route.dst.addr.family, ...(route.table !== undefined ? { table: route.table } : {}) });
    // Through this interface.
    if (!table.some((r) => routeMatches(r, route, link.index))) throw mismatch(`route ${describeRoute(route)} is missing ${where}`);
  }
}

export async function cmdCheck(req: CheckRequest, ctx: PluginContext): Promise<void> {
  const conf = req.conf;
  const br = bridgeConfOf(conf);
  const prev = conf.prevResult;
  if (prev === undefined) {
    throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, "Required prevResult missing: CHECK needs the ADD result in \"prevResult\"");
  }
  if (conf.ipam !== undefined) await ipamCheck(ipamCallOf(req, ctx));

  const host = openHostNs(ctx.hostNetnsPath);
  let container: NsHandle | undefined;
  try {
    container = getContainerNs(req.netns);
    const where = `in ${q(req.netns)}`;

    // The bridge.
    const bridge = findBridge(host, br.bridge);
    if (bridge === undefined) throw mismatch(`bridge ${q(br.bridge)} does not exist`);
    const prevBridge: CniInterface | undefined = prev.interfaces.find((i) => i.name === br.bridge && !i.sandbox);
    if (prevBridge?.mac && prevBridge.mac.toLowerCase() !== bridge.mac) {
      throw mismatch(`bridge ${q(br.bridge)} has MAC ${bridge.mac}, prevResult says ${prevBridge.mac}`);
    }
    if (br.promiscMode && !bridge.promisc) throw mismatch(`bridge ${q(br.bridge)} is not in promiscuous mode ("promiscMode": true)`);

    // The pod interface.
    const idx = podInterfaceIndex(prev, req.ifName, req.netns);
    if (idx < 0) throw mismatch(`prevResult has no interface ${q(req.ifName)} in sandbox ${q(req.netns)}`);
    const want = prev.interfaces[idx] as CniInterface;
    const link = container.rtnl.linkFind(req.ifName);
    if (link === undefined) throw mismatch(`interface ${q(req.ifName)} does not exist ${where}`);
    if (link.kind !== "veth") throw mismatch(`interface ${q(req.ifName)} ${where} is a ${link.kind ?? "device without a kind"}, not a veth`);
    if (!link.up && !br.disableContainerInterface) throw mismatch(`interface ${q(req.ifName)} ${where} is down`);
    if (want.mac && want.mac.toLowerCase() !== link.mac) {
      throw mismatch(`interface ${q(req.ifName)} ${where} has MAC ${link.mac}, prevResult says ${want.mac}`);
    }

    checkPodAddrsAndRoutes(container, link, prev, idx, req.ifName, where);

    // The host end: the veth's peer index is an index in the host namespace.
    const peer = link.parentIndex === undefined ? undefined : host.rtnl.linkFindByIndex(link.parentIndex);
    if (peer === undefined || peer.kind !== "veth" || peer.parentIndex !== link.index) {
      throw mismatch(`the host end of ${q(req.ifName)} ${where} was not found in the host namespace`);
    }
    const prevHost = prev.interfaces.filter((i, n) => n !== idx && !i.sandbox && i.name !== br.bridge);
    if (prevHost.length > 0 && !prevHost.some((i) => i.name === peer.name)) {
      throw mismatch(`host veth is ${q(peer.name)}, prevResult says ${prevHost.map((i) => q(i.name)).join(", ")}`);
    }
    const alias = peer.alias;
    if (alias !== undefined && alias !== "" && alias !== hostVethAlias(req.conf.name, req.containerId, req.ifName)) {
      throw mismatch(`host veth ${q(peer.name)} belongs to ${q(alias)}, not to ${q(req.containerId)}/${q(req.ifName)}`);
    }
    if (peer.master !== bridge.index) throw mismatch(`host veth ${q(peer.name)} is not attached to bridge ${q(br.bridge)}`);
    if (peer.hairpin !== undefined && peer.hairpin !== br.hairpinMode) {
      throw mismatch(`host veth ${q(peer.name)} has hairpin mode ${peer.hairpin ? "on" : "off"}, the config says ${br.hairpinMode ? "on" : "off"}`);
    }

    checkBandwidth(host, req, peer);

    await checkRules(req, ctx, prev.ips.filter((i) => i.interface === idx).map((i) => i.address));
  } finally {
    container?.close();
    host.close();
  }
}
