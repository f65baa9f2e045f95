// plugin/commands/add: CNI ADD for the bridge datapath (types kubenet and bridge).
// Order: validate everything, then bridge -> IPAM lease -> veth -> pod addresses/routes -> lo up -> gateway on
// the bridge. Every step that makes something per-pod pushes its undo; any later failure unwinds them, so a
// failed ADD leaves no lease and no veth behind (the bridge is shared and stays). Imports core, native
// (through plugin/bridge) and plugin/ipam. Async only where it waits for the bridge port.

import { setTimeout as sleep } from "node:timers/promises";
import { parseCniArgMac } from "../../core/cni/cni-args.js";
import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import { isMacText, isMulticastMac } from "../../core/cni/fields.js";
import { hostVethAlias } from "../../core/cni/host-veth-alias.js";
import { checkHostVethAlias, checkIptablesComment } from "../../core/cni/limits.js";
import { formatComment } from "../bridge/ipmasq-rules.js";
import type { BridgeConf } from "../../core/cni/bridge-conf.js";
import type { NetConf } from "../../core/cni/netconf.js";
import type { CniInterface, Dns, IpConfig, Result } from "../../core/cni/result.js";
import { cniVersionAtLeast } from "../../core/cni/version.js";
import { networkOf, nextIp } from "../../core/ip.js";
import { IF_OPER_UP, monotonicMs } from "../../native/index.js";
import { bridgeConfOf, ensureBridge, ensureGatewayAddrs, gatewayNets } from "../bridge/bridge.js";
import { configureContainerIface, planRoutes, reportedRoutes, setLoopbackUp } from "../bridge/container-iface.js";
import { masqContextOf, masqOwnerOf, setupIpMasq, teardownIpMasq } from "../bridge/ipmasq.js";
import { getContainerNs, openHostNs, type NsHandle } from "../bridge/netns.js";
import { hostPortsContextOf, setupKubenetHostPorts, teardownKubenetHostPorts } from "../portmap/kubenet.js";
import { portRequestOf } from "../portmap/portmap.js";
import { attachHostVeth, createVeth, deleteLinkIfPresent, interfaceExistsError, type VethPair } from "../bridge/veth.js";
import { addBandwidth } from "../bandwidth/attach.js";
import { ipamAdd, ipamCallOf, ipamDel } from "../ipam/index.js";
import type { AddRequest, PluginContext } from "../types.js";
import { UndoStack } from "../undo-stack.js";

/** Container MAC: runtimeConfig.mac > args.cni.mac (both in conf.mac) > CNI_ARGS MAC=. Validated. */
export function containerMacOf(conf: NetConf, cniArgs: ReadonlyMap<string, string>): string | undefined {
  const env = cniArgs.get("MAC");
  // CNI_ARGS MAC= (checked up front by skel: code 4, never "" for absent).
  if (conf.mac === undefined && env !== undefined) return parseCniArgMac(env);
  const mac = conf.mac;
  if (mac === undefined) return undefined;
  if (!isMacText(mac)) {
    throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `invalid container MAC address ${q(mac)}: expected six hex pairs like "c2:11:22:33:44:55"`);
  }
  if (isMulticastMac(mac)) {
    throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `invalid container MAC address ${q(mac)}: it is a multicast address`);
  }
  return mac.toLowerCase();
}

/** Everything that can be checked without touching the kernel. */
function validate(req: AddRequest, br: BridgeConf): void {
  // Kernel limits first: the host veth's alias, and with ipMasq the rules' comment (before anything is made).
  checkHostVethAlias(hostVethAlias(req.conf.name, req.containerId, req.ifName), req.conf.name, req.containerId, req.ifName);
  if (br.ipMasq) checkIptablesComment(formatComment(req.conf.name, req.containerId), req.conf.name, req.containerId);
  if (req.conf.ipam === undefined && !cniVersionAtLeast(req.conf.cniVersion, "0.3.0") && req.conf.prevResult === undefined) {
    throw new CniError(
      CNI_ERROR_CODE.INVALID_NETWORK_CONFIG,
      `a config without "ipam" (L2 only) needs cniVersion 0.3.0 or newer: a ${req.conf.cniVersion} result must carry an IP address`,
    );
  }
  if (br.vlan !== 0 || br.vlanTrunk.length > 0) {
    throw new CniError(CNI_ERROR_CODE.UNSUPPORTED_FIELD, `"vlan"/"vlanTrunk" are not supported by this plugin (vlan ${br.vlan})`);
  }
  if (br.ipMasq && br.ipMasqBackend === "nftables") {
    throw new CniError(
      CNI_ERROR_CODE.UNSUPPORTED_FIELD,
      `"ipMasqBackend": "nftables" is not supported: remove it (or set "iptables"); the iptables tools on PATH are used, whatever their backend`,
    );
  }
  for (const [key, on] of [["macspoofchk", br.macspoofchk], ["portIsolation", br.portIsolation]] as const) {
    if (on) throw new CniError(CNI_ERROR_CODE.UNSUPPORTED_FIELD, `${q(key)}: true is not supported by this plugin; remove it or set it to false`);
  }
  if (br.disableContainerInterface && req.conf.ipam !== undefined) {
    throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `"disableContainerInterface" cannot be combined with "ipam"`);
  }
}

/** The IPs for the pod interface (index `ifIndex` in the result); with isGateway, a missing gateway is .1. */
function podIps(ipam: Result, ifIndex: number, isGateway: boolean): IpConfig[] {
  return ipam.ips.map((ip) => {
    const gateway = ip.gateway ?? (isGateway ? nextIp(networkOf(ip.address).addr) : undefined);
    return { address: ip.address, gateway, interface: ifIndex };
  });
}

/**
 * Chained ADD (a prevResult from an earlier plugin): our interfaces are appended to the earlier ones, our
 * IPs' interface indexes shift accordingly, routes are concatenated, DNS is ours when we have any.
 */
export function mergeResult(prev: Result | undefined, ours: Result): Result {
  if (prev === undefined) return ours;
  const offset = prev.interfaces.length;
  return {
    interfaces: [...prev.interfaces, ...ours.interfaces],
    ips: [...prev.ips, ...ours.ips.map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + offset }))],
    routes: [...prev.routes, ...ours.routes],
    dns: isEmptyDns(ours.dns) ? prev.dns : ours.dns,
  };
}

const isEmptyDns = (d: Dns): boolean =>
  !d.nameservers?.length && !d.domain && !d.search?.length && !d.options?.length;

/** The reference waits for the host veth to be UP before answering: the pod must not race a dead port. */
async function waitOperUp(host: NsHandle, index: number, name: string): Promise<number> {
  const started = monotonicMs();
  for (const delay of [0, 5, 20, 50, 100, 250, 500, 1000]) {
    if (delay > 0) await sleep(delay);
    const link = host.rtnl.linkFindByIndex(index);
    if (link?.operstate === IF_OPER_UP) return monotonicMs() - started;
  }
  throw new CniError(CNI_ERROR_CODE.KERNEL_OPERATION_FAILED, `bridge port in error state: ${q(name)} did not come up within 2 s`);
}

/**
 * ipMasq (the container's masquerade chain) and host ports (kubenet type, runtimeConfig.portMappings), started
 * once the addresses are known: the iptables tools run while the netlink work proceeds, and cmdAdd awaits
 * them before the result. Each pushes its own undo.
 */
function startRuleSetups(req: AddRequest, ctx: PluginContext, ipam: Result, host: NsHandle, undo: UndoStack): Promise<void>[] {
  const conf = req.conf;
  const br = bridgeConfOf(conf);
  const addrs = ipam.ips.map((ip) => ip.address);
  const started: Promise<void>[] = [];
  if (addrs.length === 0) return started;
  if (br.ipMasq) {
    const mc = masqContextOf(conf, ctx);
    const owner = masqOwnerOf(req);
    const masq = setupIpMasq(mc, owner, addrs);
    started.push(masq);
    undo.push(`remove the masquerade chain of ${q(req.containerId)}`, async () => {
      await masq.catch(() => undefined);
      await teardownIpMasq(mc, owner);
    });
  }
  if (conf.plugin === "kubenet" && conf.portMappings.length > 0) {
    const xc = hostPortsContextOf(conf, ctx);
    const ports = setupKubenetHostPorts(xc, portRequestOf(conf, req.containerId, addrs, ctx.hostNetnsPath), conf, req.ifName, host, br.bridge);
    started.push(ports);
    undo.push(`remove the host ports of ${q(req.containerId)}`, async () => {
      await ports.catch(() => undefined);
      await teardownKubenetHostPorts(xc, conf, req.containerId);
    });
  }
  for (const p of started) p.catch(() => undefined); // awaited by cmdAdd; never an unhandled rejection meanwhile
  return started;
}

/** The lease(s) for this attachment, released again if a later step of ADD fails. */
async function allocate(req: AddRequest, ctx: PluginContext, undo: UndoStack): Promise<Result> {
  const ipamConf = req.conf.ipam;
  if (ipamConf === undefined) return { interfaces: [], ips: [], routes: [], dns: {} };
  const call = ipamCallOf(req, ctx);
  const ipam = await ipamAdd(call);
  undo.push(`release the IP lease of ${q(req.containerId)}/${q(req.ifName)}`, () => ipamDel(call));
  if (ipam.ips.length === 0) {
    throw new CniError(CNI_ERROR_CODE.DELEGATE_FAILED, `IPAM plugin ${q(ipamConf.type)} returned missing IP config (no "ips")`);
  }
  return ipam;
}

/**
 * The bridge, the host veth and the pod end as the result lists them, re-read at the end: the bridge MAC
 * may have changed when the first port joined, then been pinned.
 */
function resultInterfaces(host: NsHandle, container: NsHandle, [bridge, hostVeth, podEnd]: readonly [number, number, number], sandbox: string): CniInterface[] {
  const bridgeNow = host.rtnl.linkGetByIndex(bridge);
  const hostNow = host.rtnl.linkGetByIndex(hostVeth);
  const podNow = container.rtnl.linkGetByIndex(podEnd);
  return [
    { name: bridgeNow.name, mac: bridgeNow.mac, mtu: bridgeNow.mtu },
    { name: hostNow.name, mac: hostNow.mac, mtu: hostNow.mtu },
    { name: podNow.name, mac: podNow.mac, mtu: podNow.mtu, sandbox },
  ];
}

/** Rollback of the veth pair: deleting either end deletes both; the host end is tried too in case the pod netns went away. */
function undoVeth(undo: UndoStack, podNs: NsHandle, host: NsHandle, pair: VethPair, ifName: string): void {
  undo.push(`delete veth ${q(ifName)} <-> ${q(pair.hostName)}`, () => {
    deleteLinkIfPresent(podNs, pair.container.index, `${q(ifName)} in the container`);
    const hostEnd = host.rtnl.linkFind(pair.hostName);
    if (hostEnd !== undefined) deleteLinkIfPresent(host, hostEnd.index, `host veth ${q(pair.hostName)}`);
  });
}

export async function cmdAdd(req: AddRequest, ctx: PluginContext): Promise<Result> {
  const conf = req.conf;
  const br = bridgeConfOf(conf);
  const isGateway = br.isGateway || br.isDefaultGateway;
  validate(req, br);
  const mac = containerMacOf(conf, req.cniArgs);

  const host = openHostNs(ctx.hostNetnsPath);
  let container: NsHandle | undefined;
  const undo = new UndoStack();
  try {
    container = getContainerNs(req.netns);
    if (container.rtnl.linkFind(req.ifName) !== undefined) throw interfaceExistsError(req.ifName, req.netns);

    const bridge = ensureBridge(host, { name: br.bridge, mtu: br.mtu, mac: undefined, promiscMode: br.promiscMode });

    const ipam = await allocate(req, ctx, undo);

    // ipMasq and host ports: started now that the addresses are known (the IPAM lock is already released).
    const rules = startRuleSetups(req, ctx, ipam, host, undo);

    const pair = createVeth(container, host, { ifName: req.ifName, mtu: br.mtu, mac });
    undoVeth(undo, container, host, pair, req.ifName);
    const hostVeth = attachHostVeth(host, pair.hostName, {
      bridge,
      hairpin: br.hairpinMode,
      alias: hostVethAlias(req.conf.name, req.containerId, req.ifName),
    });

    const ifb = addBandwidth(host, req, hostVeth, undo);
    const prevCount = conf.prevResult?.interfaces.length ?? 0;
    const ips = podIps(ipam, 2, isGateway);
    const routes = planRoutes(ips, ipam.routes, br.isDefaultGateway);
    if (!br.disableContainerInterface) {
      configureContainerIface(container, { link: pair.container, ips, routes, dad: br.enabledad });
    }
    setLoopbackUp(container);
    if (isGateway) ensureGatewayAddrs(host, bridge, gatewayNets(ips), br.forceAddress);
    const waitedMs = br.disableContainerInterface ? 0 : await waitOperUp(host, hostVeth.index, hostVeth.name);
    await Promise.all(rules);

    const interfaces = [...resultInterfaces(host, container, [bridge.index, hostVeth.index, pair.container.index], req.netns), ...(ifb === undefined ? [] : [ifb])];
    const ours: Result = { interfaces, ips, routes: reportedRoutes(routes, ipam.routes, br.isDefaultGateway), dns: isEmptyDns(conf.dns) ? ipam.dns : conf.dns };
    undo.commit();
    ctx.log.info("ADD done", {
      containerId: req.containerId,
      ifName: req.ifName,
      hostVeth: interfaces[1]?.name,
      ips: ips.length,
      chained: prevCount > 0,
      portWaitMs: Math.round(waitedMs),
    });
    return mergeResult(conf.prevResult, ours);
  } catch (err) {
    if (undo.size > 0) {
      ctx.log.warn("ADD failed; rolling back", { containerId: req.containerId, ifName: req.ifName, error: String(err) });
      await undo.unwind(ctx.log);
    }
    throw err;
  } finally {
    container?.close();
    host.close();
  }
}
