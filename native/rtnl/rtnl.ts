// native/rtnl/rtnl: the Rtnl handle: one NETLINK_ROUTE socket bound to one network namespace, and every
// operation of the `Rtnl` contract as one request built by link.ts/addr.ts/route.ts.
// Imports ../netlink, ../netns and the pure rtnl codec. Synchronous: each call returns once the kernel answered.

import type {
  Addr,
  AddrAddOptions,
  Link,
  LinkAddBridgeSpec,
  LinkAddIfbSpec,
  LinkAddVethSpec,
  OpenRtnlOptions,
  Qdisc,
  QdiscAddSpec,
  QdiscDelSpec,
  Route,
  RouteSpec,
  Rtnl,
  TcFilter,
  U32FilterSpec,
} from "../api.js";
import { NETLINK_ROUTE } from "../netlink/constants.js";
import { NetlinkError } from "../netlink/netlink-error.js";
import { NetlinkSocket, type NetlinkTransport, openKernelTransport } from "../netlink/socket.js";
import { withNetnsSync } from "../netns.js";
import { addrAddRequest, addrDelRequest, addrListRequest, addrReplaceRequest, decodeAddr } from "./addr.js";
import { rtmTypeName } from "./constants.js";
import { formatCidr, type IpFamily, type IpNet } from "../../core/ip.js";
import {
  decodeLink,
  linkAddBridgeRequest,
  linkAddVethRequest,
  linkDelRequest,
  linkGetByIndexRequest,
  linkGetRequest,
  linkListRequest,
  linkSetHairpinRequest,
  linkSetMacRequest,
  linkSetMasterRequest,
  linkSetMtuRequest,
  linkSetNameRequest,
  linkSetAliasRequest,
  linkSetNetnsRequest,
  linkSetPromiscRequest,
  linkSetUpRequest,
} from "./link.js";
import { type LinkMessage, type RtnlMessage, decodeRtnlMessage, encodeRtnlMessage } from "./messages.js";
import { decodeRoute, describeRoute, routeAddRequest, routeDelRequest, routeListRequest, routeReplaceRequest } from "./route.js";
import type { NlMessage } from "../netlink/header.js";
import { linkAddIfbRequest } from "./link-ifb.js";
import * as tc from "../tc/ops.js";

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Opens a NETLINK_ROUTE socket in the caller's namespace, or inside `netnsPath`: enter (setns on this
 * thread), open the socket, return at once (also when opening fails). The socket stays bound to that
 * namespace for its whole life, whatever the thread does next.
 * @throws NetnsNotFoundError naming the path when the namespace does not exist
 */
export function openRtnl(options: OpenRtnlOptions = {}): Rtnl & RtnlExtras {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const open = (): NetlinkTransport => openKernelTransport(NETLINK_ROUTE, { timeoutMs });
  const transport = options.netnsPath === undefined ? open() : withNetnsSync(options.netnsPath, open);
  return new RtnlHandle(new NetlinkSocket(transport, { typeName: rtmTypeName, timeoutMs }), options.netnsPath);
}

/** Members beyond the `Rtnl` contract. */
export interface RtnlExtras {
  /** The underlying request engine (for tests and for requests this file does not wrap). */
  readonly socket: NetlinkSocket;
}

function isMissing(err: unknown): boolean {
  return err instanceof NetlinkError && err.code === "ENODEV";
}

class RtnlHandle implements Rtnl, RtnlExtras {
  readonly netnsPath: string | undefined;
  readonly socket: NetlinkSocket;

  constructor(socket: NetlinkSocket, netnsPath: string | undefined) {
    this.socket = socket;
    this.netnsPath = netnsPath;
  }

  close(): void {
    this.socket.close();
  }

  private ack(msg: RtnlMessage, detail: string): void {
    this.socket.ack(encodeRtnlMessage(msg), detail);
  }

  private query(msg: RtnlMessage, detail: string): NlMessage[] {
    return this.socket.query(encodeRtnlMessage(msg), detail);
  }

  private dump(msg: RtnlMessage, detail: string): RtnlMessage[] {
    const out: RtnlMessage[] = [];
    for (const m of this.socket.dump(encodeRtnlMessage(msg), detail)) {
      const d = decodeRtnlMessage(m);
      if (d !== undefined) out.push(d);
    }
    return out;
  }

  private links(messages: readonly NlMessage[]): Link[] {
    const out: Link[] = [];
    for (const m of messages) {
      const d = decodeRtnlMessage(m);
      if (d?.kind === "link") out.push(decodeLink(d));
    }
    return out;
  }

  // --- links ---

  linkList(): Link[] {
    return this.dump(linkListRequest(), "ip link show")
      .filter((m): m is LinkMessage => m.kind === "link")
      .map(decodeLink);
  }

  linkGet(name: string): Link {
    const [link] = this.links(this.query(linkGetRequest(name), `ip link show dev ${JSON.stringify(name)}`));
    if (link === undefined) throw new NetlinkError("RTM_GETLINK", 19, "no link in the reply", `ip link show dev ${JSON.stringify(name)}`);
    return link;
  }

  linkFind(name: string): Link | undefined {
    try {
      return this.linkGet(name);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  linkGetByIndex(index: number): Link {
    const [link] = this.links(this.query(linkGetByIndexRequest(index), `ip link show #${index}`));
    if (link === undefined) throw new NetlinkError("RTM_GETLINK", 19, "no link in the reply", `ip link show #${index}`);
    return link;
  }

  linkFindByIndex(index: number): Link | undefined {
    try {
      return this.linkGetByIndex(index);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Creates and returns the new link: the kernel echoes it (NLM_F_ECHO), so this is still one request. */
  private create(msg: LinkMessage, name: string, detail: string): Link {
    const echoed = this.links(this.query(msg, detail)).find((l) => l.name === name);
    // Kernels before 6.2 ignore NLM_F_ECHO on RTM_NEWLINK: ask.
    return echoed ?? this.linkGet(name);
  }

  linkAddBridge(spec: LinkAddBridgeSpec): Link {
    return this.create(linkAddBridgeRequest(spec), spec.name, `ip link add ${JSON.stringify(spec.name)} type bridge`);
  }

  linkAddVeth(spec: LinkAddVethSpec): Link {
    const where = spec.peerNetnsFd === undefined ? "" : ` netns fd ${spec.peerNetnsFd}`;
    const detail = `ip link add ${JSON.stringify(spec.name)} type veth peer name ${JSON.stringify(spec.peerName)}${where}`;
    return this.create(linkAddVethRequest(spec), spec.name, detail);
  }

  linkAddIfb(spec: LinkAddIfbSpec): Link {
    return this.create(linkAddIfbRequest(spec), spec.name, `ip link add ${JSON.stringify(spec.name)} type ifb`);
  }

  linkSetUp(index: number): void {
    this.ack(linkSetUpRequest(index, true), `ip link set #${index} up`);
  }

  linkSetDown(index: number): void {
    this.ack(linkSetUpRequest(index, false), `ip link set #${index} down`);
  }

  linkSetMaster(index: number, masterIndex: number): void {
    const what = masterIndex === 0 ? "nomaster" : `master #${masterIndex}`;
    this.ack(linkSetMasterRequest(index, masterIndex), `ip link set #${index} ${what}`);
  }

  linkSetMtu(index: number, mtu: number): void {
    this.ack(linkSetMtuRequest(index, mtu), `ip link set #${index} mtu ${mtu}`);
  }

  linkSetAlias(index: number, alias: string): void {
    this.ack(linkSetAliasRequest(index, alias), `ip link set #${index} alias ${JSON.stringify(alias)}`);
  }

  linkSetName(index: number, name: string): void {
    this.ack(linkSetNameRequest(index, name), `ip link set #${index} name ${JSON.stringify(name)}`);
  }

  linkSetMac(index: number, mac: string): void {
    this.ack(linkSetMacRequest(index, mac), `ip link set #${index} address ${mac}`);
  }

  linkSetPromisc(index: number, on: boolean): void {
    this.ack(linkSetPromiscRequest(index, on), `ip link set #${index} promisc ${on ? "on" : "off"}`);
  }

  linkSetHairpin(index: number, on: boolean): void {
    this.ack(linkSetHairpinRequest(index, on), `bridge link set #${index} hairpin ${on ? "on" : "off"}`);
  }

  linkSetNetns(index: number, netnsFd: number): void {
    this.ack(linkSetNetnsRequest(index, netnsFd), `ip link set #${index} netns fd ${netnsFd}`);
  }

  linkDel(index: number): void {
    this.ack(linkDelRequest(index), `ip link del #${index}`);
  }

  // --- addresses ---

  addrList(filter: { index?: number; family?: IpFamily } = {}): Addr[] {
    const out: Addr[] = [];
    for (const m of this.dump(addrListRequest(filter), "ip addr show")) {
      if (m.kind !== "addr") continue;
      const a = decodeAddr(m);
      if (a === undefined) continue;
      // The kernel filters too (strict checking), but an AF_UNSPEC dump may not honour ifa_index everywhere.
      if (filter.index !== undefined && a.index !== filter.index) continue;
      if (filter.family !== undefined && a.family !== filter.family) continue;
      out.push(a);
    }
    return out;
  }

  addrAdd(index: number, address: IpNet, options: AddrAddOptions = {}): void {
    this.ack(addrAddRequest(index, address, options), `ip addr add ${formatCidr(address)} dev #${index}`);
  }

  addrReplace(index: number, address: IpNet, options: AddrAddOptions = {}): void {
    this.ack(addrReplaceRequest(index, address, options), `ip addr replace ${formatCidr(address)} dev #${index}`);
  }

  addrDel(index: number, address: IpNet): void {
    this.ack(addrDelRequest(index, address), `ip addr del ${formatCidr(address)} dev #${index}`);
  }

  // --- routes ---

  routeList(filter: { family?: IpFamily; table?: number; oif?: number } = {}): Route[] {
    const out: Route[] = [];
    for (const m of this.dump(routeListRequest(filter), "ip route show")) {
      if (m.kind !== "route") continue;
      const r = decodeRoute(m);
      if (r === undefined) continue;
      if (filter.family !== undefined && r.family !== filter.family) continue;
      if (filter.table !== undefined && r.table !== filter.table) continue;
      if (filter.oif !== undefined && r.oif !== filter.oif) continue;
      out.push(r);
    }
    return out;
  }

  routeAdd(route: RouteSpec): void {
    this.ack(routeAddRequest(route), `ip route add ${describeRoute(route)}`);
  }

  routeReplace(route: RouteSpec): void {
    this.ack(routeReplaceRequest(route), `ip route replace ${describeRoute(route)}`);
  }

  routeDel(route: RouteSpec): void {
    this.ack(routeDelRequest(route), `ip route del ${describeRoute(route)}`);
  }

  // --- traffic control (native/tc) ---

  qdiscAdd(index: number, spec: QdiscAddSpec): void {
    tc.qdiscAdd(this.socket, index, spec);
  }

  qdiscDel(index: number, spec: QdiscDelSpec): void {
    tc.qdiscDel(this.socket, index, spec);
  }

  qdiscList(index?: number): Qdisc[] {
    return tc.qdiscList(this.socket, index);
  }

  filterAdd(index: number, spec: U32FilterSpec): void {
    tc.filterAdd(this.socket, index, spec);
  }

  filterDel(index: number, spec: { parent: number; priority: number; protocol: number }): void {
    tc.filterDel(this.socket, index, spec);
  }

  filterList(index: number, parent: number): TcFilter[] {
    return tc.filterList(this.socket, index, parent);
  }
}
