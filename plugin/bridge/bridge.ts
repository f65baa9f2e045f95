// plugin/bridge/bridge: the host bridge (cbr0 for kubenet) and its gateway addresses.
// Imports native (through native/index.js) and core. Synchronous. Runs in the host namespace (the one the
// plugin runs in, as the reference plugin does); concurrent ADDs race here, so every create tolerates
// "already exists" and then re-reads and verifies what it found.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { BridgeConf } from "../../core/cni/bridge-conf.js";
import type { NetConf } from "../../core/cni/netconf.js";
import type { IpConfig } from "../../core/cni/result.js";
import { formatCidr, ipEqual, isLinkLocal, networkOf, netEqual, overlaps, type IpNet } from "../../core/ip.js";
import type { Link } from "../../native/index.js";
import { IFA_F_NODAD, isErrno, kernelStep, wrapKernelError, type NsHandle } from "./netns.js";

export interface BridgeOptions {
  readonly name: string;
  /** 0 = kernel default. Only used when the bridge is created; an existing bridge keeps its MTU (as ref). */
  readonly mtu: number;
  readonly mac?: string | undefined;
  readonly promiscMode: boolean;
}

/** The bridge part of the config; kubenet/bridge configs always have it. */
export function bridgeConfOf(conf: NetConf): BridgeConf {
  if (conf.bridge === undefined) {
    throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `plugin type ${q(conf.type)} has no bridge settings`);
  }
  return conf.bridge;
}

function assertBridge(link: Link, name: string): Link {
  if (link.kind !== "bridge") {
    throw new CniError(
      CNI_ERROR_CODE.NOT_A_BRIDGE,
      `${q(name)} already exists but is not a bridge (it is ${link.kind === undefined ? "a device without a link kind" : `of kind ${q(link.kind)}`}); remove it or configure another "bridge" name`,
    );
  }
  return link;
}

/** Finds the bridge, or undefined; a link of that name that is not a bridge is an error. */
export function findBridge(host: NsHandle, name: string): Link | undefined {
  const link = host.rtnl.linkFind(name);
  return link === undefined ? undefined : assertBridge(link, name);
}

/**
 * Creates the bridge if missing (MTU and MAC only then), verifies it is a bridge, turns promiscuous mode on
 * when asked, disables router advertisements on it (it is a router for its pods, not a host) and sets it up.
 * Returns the bridge as re-read after all changes.
 */
export function ensureBridge(host: NsHandle, opts: BridgeOptions): Link {
  let link = host.rtnl.linkFind(opts.name);
  if (link === undefined) {
    try {
      link = host.rtnl.linkAddBridge({
        name: opts.name,
        ...(opts.mtu > 0 ? { mtu: opts.mtu } : {}),
        ...(opts.mac !== undefined ? { mac: opts.mac } : {}),
      });
    } catch (err) {
      // A concurrent ADD created it between our lookup and our create: use theirs.
      if (!isErrno(err, "EEXIST")) throw wrapKernelError(`could not create bridge ${q(opts.name)}`, err);
      link = host.rtnl.linkGet(opts.name);
    }
  }
  assertBridge(link, opts.name);
  if (opts.promiscMode && !link.promisc) {
    kernelStep(`could not set bridge ${q(opts.name)} promiscuous`, () => host.rtnl.linkSetPromisc(link.index, true));
  }
  // Optional: absent when IPv6 is disabled on the host.
  host.sysctl([{ name: `net/ipv6/conf/${opts.name}/accept_ra`, value: "0", optional: true }]);
  if (!link.up) kernelStep(`could not set bridge ${q(opts.name)} up`, () => host.rtnl.linkSetUp(link.index));
  return host.rtnl.linkGetByIndex(link.index);
}

/**
 * Puts the gateway addresses on the bridge (each with its subnet's prefix), pins the bridge MAC and enables
 * forwarding. An IPv4 address on the bridge that is not a wanted gateway is a conflict (the bridge still
 * carries an old PodCIDR): an error unless `forceAddress`, in which case it is removed first. IPv6 addresses
 * only conflict when they overlap a wanted one (a bridge may carry several IPv6 networks, as in the reference).
 */
export function ensureGatewayAddrs(host: NsHandle, bridge: Link, gateways: readonly IpNet[], forceAddress: boolean): void {
  if (gateways.length === 0) return;
  const existing = host.rtnl.addrList({ index: bridge.index });
  const wanted = (a: IpNet): boolean => gateways.some((g) => ipEqual(g.addr, a.addr) && g.prefixLen === a.prefixLen);
  for (const addr of existing) {
    if (wanted(addr.address) || isLinkLocal(addr.address.addr)) continue;
    const conflicts =
      addr.family === 4
        ? gateways.some((g) => g.addr.family === 4)
        : gateways.some((g) => g.addr.family === 6 && overlaps(networkOf(g), networkOf(addr.address)));
    if (!conflicts) continue;
    if (!forceAddress) {
      const want = gateways.filter((g) => g.addr.family === addr.family).map(formatCidr).join(", ");
      throw new CniError(
        CNI_ERROR_CODE.BRIDGE_ADDRESS_CONFLICT,
        `bridge ${q(bridge.name)} already has an IP address ${formatCidr(addr.address)} different from ${want}; ` +
          `remove it, or set "forceAddress": true to let the plugin replace it`,
      );
    }
    try {
      host.rtnl.addrDel(bridge.index, addr.address);
    } catch (err) {
      // A concurrent ADD removed it first.
      if (!isErrno(err, "EADDRNOTAVAIL")) {
        throw wrapKernelError(`could not remove old address ${formatCidr(addr.address)} from bridge ${q(bridge.name)}`, err);
      }
    }
  }
  for (const gw of gateways) {
    if (existing.some((a) => netEqual(a.address, gw))) continue;
    try {
      // NODAD: a tentative gateway address would drop the pods' first IPv6 packets for a second.
      host.rtnl.addrAdd(bridge.index, gw, gw.addr.family === 6 ? { flags: IFA_F_NODAD } : {});
    } catch (err) {
      if (!isErrno(err, "EEXIST")) {
        throw wrapKernelError(`could not add gateway address ${formatCidr(gw)} to bridge ${q(bridge.name)}`, err);
      }
    }
  }
  // Setting the bridge's MAC to its own current value pins it (the kernel marks it NET_ADDR_SET): otherwise
  // it follows the lowest port MAC and changes as pods come and go, leaving every pod's neighbour entry for
  // the gateway stale. Idempotent, so it is simply done on every ADD (the kind of MAC is not visible here).
  const current = host.rtnl.linkGetByIndex(bridge.index);
  if (current.mac !== "") {
    kernelStep(`could not pin the MAC of bridge ${q(bridge.name)}`, () => host.rtnl.linkSetMac(current.index, current.mac));
  }
  const families = new Set(gateways.map((g) => g.addr.family));
  host.sysctl([
    ...(families.has(4) ? [{ name: "net/ipv4/ip_forward", value: "1" }] : []),
    ...(families.has(6) ? [{ name: "net/ipv6/conf/all/forwarding", value: "1" }] : []),
  ]);
}

/** The gateway address for each IP the IPAM returned: the gateway with the pod address's prefix. */
export function gatewayNets(ips: readonly IpConfig[]): IpNet[] {
  const out: IpNet[] = [];
  for (const ip of ips) {
    if (ip.gateway === undefined) continue;
    const gw: IpNet = { addr: ip.gateway, prefixLen: ip.address.prefixLen };
    if (!out.some((o) => netEqual(o, gw))) out.push(gw);
  }
  return out;
}
