// native/rtnl/addr: address requests (one function = one rtnetlink message, named like iproute2) and the
// decoder from RTM_NEWADDR to `Addr`. Pure; rtnl.ts sends them.
// Imports ../netlink codec, ./messages, ./constants, ./ip-bytes and types of core/ip and ../api.

import type { Addr, AddrAddOptions, RawAttr } from "../api.js";
import { attrStr, attrU32, nla } from "../netlink/attr.js";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST } from "../netlink/constants.js";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RT_SCOPE_UNIVERSE,
} from "./constants.js";
import { bitsOf, formatCidr, ipFromBytes, ipToBytes, lastAddressOf, type IpAddr, type IpFamily, type IpNet } from "../../core/ip.js";
import type { AddrMessage } from "./messages.js";

const ACK = NLM_F_REQUEST | NLM_F_ACK;

export const familyToAf = (family: IpFamily): number => (family === 4 ? AF_INET : AF_INET6);

export function afToFamily(af: number): IpFamily | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index <= 0 || index > 0x7fffffff) {
    throw new RangeError(`Invalid interface index ${index}: expected a positive integer`);
  }
}

/**
 * `ip addr show [dev X]` — RTM_GETADDR, NLM_F_DUMP, family AF_UNSPEC/AF_INET/AF_INET6. With
 * NETLINK_GET_STRICT_CHK the kernel itself filters by ifa_index.
 */
export function addrListRequest(filter: { index?: number; family?: IpFamily } = {}): AddrMessage {
  if (filter.index !== undefined) checkIndex(filter.index);
  return {
    kind: "addr",
    type: RTM_GETADDR,
    flags: NLM_F_REQUEST,
    header: { family: filter.family === undefined ? AF_UNSPEC : familyToAf(filter.family), prefixLen: 0, flags: 0, scope: 0, index: filter.index ?? 0 },
    attrs: [],
  };
}

function addrAttrs(address: IpNet, options: AddrAddOptions, withBroadcast: boolean): RawAttr[] {
  const bytes = ipToBytes(address.addr);
  const attrs: RawAttr[] = [];
  if (address.addr.family === 4) {
    // Kernel surprise: for IPv4, IFA_LOCAL is the interface's own address and IFA_ADDRESS the peer (equal
    // unless point-to-point); for IPv6, IFA_ADDRESS is the address and IFA_LOCAL appears only with a peer.
    // iproute2 sends both for v4; so do we.
    attrs.push(nla.bytes(IFA_LOCAL, bytes), nla.bytes(IFA_ADDRESS, bytes));
    if (withBroadcast) {
      const brd = broadcastFor(address, options.broadcast);
      if (brd !== undefined) attrs.push(nla.bytes(IFA_BROADCAST, ipToBytes(brd)));
    }
  } else {
    attrs.push(nla.bytes(IFA_ADDRESS, bytes));
  }
  // ifa_flags is only 8 bits wide; IFA_F_NOPREFIXROUTE and later need the 32-bit IFA_FLAGS attribute.
  if (options.flags !== undefined && options.flags !== 0) attrs.push(nla.u32(IFA_FLAGS, options.flags));
  return attrs;
}

/** As `ip addr add A/P brd +`: the subnet's last address, except for /31 and /32, which have none. */
function broadcastFor(address: IpNet, broadcast: AddrAddOptions["broadcast"]): IpAddr | undefined {
  if (broadcast === "none") return undefined;
  if (broadcast !== undefined) {
    if (broadcast.family !== 4) throw new RangeError("A broadcast address must be IPv4");
    return broadcast;
  }
  return address.prefixLen <= 30 ? lastAddressOf(address) : undefined;
}

function checkNet(address: IpNet): void {
  if (!Number.isInteger(address.prefixLen) || address.prefixLen < 0 || address.prefixLen > bitsOf(address.addr.family)) {
    throw new RangeError(`Invalid prefix length in ${formatCidr(address)}`);
  }
}

function newAddr(index: number, address: IpNet, options: AddrAddOptions, flags: number): AddrMessage {
  checkIndex(index);
  checkNet(address);
  return {
    kind: "addr",
    type: RTM_NEWADDR,
    flags,
    header: {
      family: familyToAf(address.addr.family),
      prefixLen: address.prefixLen,
      flags: (options.flags ?? 0) & 0xff,
      scope: options.scope ?? RT_SCOPE_UNIVERSE,
      index,
    },
    attrs: addrAttrs(address, options, true),
  };
}

/**
 * `ip addr add A/P [brd B] [scope S] dev X` — RTM_NEWADDR, NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK; v4 carries
 * IFA_LOCAL + IFA_ADDRESS + IFA_BROADCAST (computed unless "none"), v6 IFA_ADDRESS. Present: EEXIST.
 */
export function addrAddRequest(index: number, address: IpNet, options: AddrAddOptions = {}): AddrMessage {
  return newAddr(index, address, options, ACK | NLM_F_CREATE | NLM_F_EXCL);
}

/** `ip addr replace A/P dev X` — RTM_NEWADDR, NLM_F_CREATE|NLM_F_REPLACE|NLM_F_ACK. Tolerates presence. */
export function addrReplaceRequest(index: number, address: IpNet, options: AddrAddOptions = {}): AddrMessage {
  return newAddr(index, address, options, ACK | NLM_F_CREATE | NLM_F_REPLACE);
}

/** `ip addr del A/P dev X` — RTM_DELADDR, NLM_F_ACK. Missing: EADDRNOTAVAIL; no such link: ENODEV. */
export function addrDelRequest(index: number, address: IpNet): AddrMessage {
  checkIndex(index);
  checkNet(address);
  return {
    kind: "addr",
    type: RTM_DELADDR,
    flags: ACK,
    header: { family: familyToAf(address.addr.family), prefixLen: address.prefixLen, flags: 0, scope: 0, index },
    attrs: addrAttrs(address, {}, false),
  };
}

/** RTM_NEWADDR -> Addr; undefined for families other than IPv4/IPv6. */
export function decodeAddr(msg: AddrMessage): Addr | undefined {
  const family = afToFamily(msg.header.family);
  if (family === undefined) return undefined;
  let local: IpAddr | undefined;
  let address: IpAddr | undefined;
  let flags: number = msg.header.flags;
  let label: string | undefined;
  for (const a of msg.attrs) {
    switch (a.type) {
      case IFA_LOCAL:
        local = ipFromBytes(a.data);
        break;
      case IFA_ADDRESS:
        address = ipFromBytes(a.data);
        break;
      case IFA_FLAGS:
        flags = attrU32(a);
        break;
      case IFA_LABEL:
        label = attrStr(a);
        break;
    }
  }
  // Same rule as iproute2: the interface's own address is IFA_LOCAL when present, else IFA_ADDRESS.
  const own = local ?? address;
  if (own === undefined) return undefined;
  return {
    index: msg.header.index,
    family,
    address: { addr: own, prefixLen: msg.header.prefixLen },
    scope: msg.header.scope,
    flags,
    label,
    attrs: msg.attrs,
  };
}
