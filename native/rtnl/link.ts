// native/rtnl/link: link requests (one function = one rtnetlink message, named like iproute2) and the
// decoder from RTM_NEWLINK to `Link`. Pure: builds and reads messages; rtnl.ts sends them.
// Imports ../netlink codec, ./messages, ./constants and ../api types.

import type { Link, LinkAddBridgeSpec, LinkAddVethSpec, RawAttr } from "../api.js";
import { attrNested, attrStr, attrU32, attrU8, encodeAttrs, findAttr, nla } from "../netlink/attr.js";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REQUEST } from "../netlink/constants.js";
import {
  AF_BRIDGE,
  AF_UNSPEC,
  ETH_ALEN,
  IFF_PROMISC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BRPORT_MODE,
  IFLA_EXT_MASK,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  IFLA_PROTINFO,
  IFNAMSIZ,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
  VETH_INFO_PEER,
} from "./constants.js";
import { type LinkMessage, ZERO_IFINFOMSG, encodeIfInfoMsg } from "./messages.js";

const ACK = NLM_F_REQUEST | NLM_F_ACK;

// --- validation ---

const textEncoder = new TextEncoder();

/** Interface names: 1..15 bytes, no "/", no whitespace or ":" (dev_valid_name), not "." or "..". */
export function checkIfName(name: string): void {
  const len = textEncoder.encode(name).length;
  if (len === 0 || len >= IFNAMSIZ || name === "." || name === ".." || /[/:\s]/.test(name)) {
    throw new RangeError(
      `Invalid interface name ${JSON.stringify(name)}: use 1 to ${IFNAMSIZ - 1} bytes without "/", ":" or whitespace`,
    );
  }
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index <= 0 || index > 0x7fffffff) {
    throw new RangeError(`Invalid interface index ${index}: expected a positive integer`);
  }
}

function checkMtu(mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < 0 || mtu > 0xffffffff) throw new RangeError(`Invalid MTU ${mtu}`);
}

/** "aa:bb:cc:dd:ee:ff" (either case) -> 6 bytes. @throws SyntaxError quoting the text */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== ETH_ALEN || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new SyntaxError(`Invalid MAC address ${JSON.stringify(text)}: expected six hex pairs like "0a:58:0a:f4:00:01"`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Lower-case colon-separated hex; "" for an empty address. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

function linkMsg(type: LinkMessage["type"], flags: number, header: Partial<LinkMessage["header"]>, attrs: RawAttr[]): LinkMessage {
  return { kind: "link", type, flags, header: { ...ZERO_IFINFOMSG, ...header }, attrs };
}

// --- requests ---

/** Kept small: statistics are the bulk of a link message and nothing here reads them. */
const EXT_MASK = nla.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

/** `ip link show` — RTM_GETLINK, NLM_F_DUMP; AF_UNSPEC. Tolerates nothing. */
export function linkListRequest(): LinkMessage {
  return linkMsg(RTM_GETLINK, NLM_F_REQUEST, {}, [EXT_MASK]);
}

/** `ip link show dev NAME` — RTM_GETLINK with IFLA_IFNAME, NLM_F_ACK. Missing: ENODEV. */
export function linkGetRequest(name: string): LinkMessage {
  checkIfName(name);
  return linkMsg(RTM_GETLINK, ACK, {}, [nla.str(IFLA_IFNAME, name), EXT_MASK]);
}

/** `ip link show` of one ifindex — RTM_GETLINK, ifi_index set, NLM_F_ACK. Missing: ENODEV. */
export function linkGetByIndexRequest(index: number): LinkMessage {
  checkIndex(index);
  return linkMsg(RTM_GETLINK, ACK, { index }, [EXT_MASK]);
}

function commonLinkAttrs(name: string, mtu: number | undefined, mac: string | undefined): RawAttr[] {
  checkIfName(name);
  const attrs = [nla.str(IFLA_IFNAME, name)];
  if (mtu !== undefined) {
    checkMtu(mtu);
    attrs.push(nla.u32(IFLA_MTU, mtu));
  }
  if (mac !== undefined) attrs.push(nla.bytes(IFLA_ADDRESS, parseMac(mac)));
  return attrs;
}

/**
 * `ip link add NAME [mtu M] [address MAC] type bridge` — RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK
 * (+ NLM_F_ECHO: the kernel sends the new link back). Exists: EEXIST.
 */
export function linkAddBridgeRequest(spec: LinkAddBridgeSpec): LinkMessage {
  const attrs = commonLinkAttrs(spec.name, spec.mtu, spec.mac);
  attrs.push(nla.nest(IFLA_LINKINFO, [nla.str(IFLA_INFO_KIND, "bridge")]));
  return linkMsg(RTM_NEWLINK, ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, {}, attrs);
}

/**
 * `ip link add NAME [mtu M] [address MAC] type veth peer name PEER [mtu M] [address MAC] netns FD` —
 * RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK|NLM_F_ECHO. The peer is described by a struct ifinfomsg
 * plus attributes inside IFLA_LINKINFO/IFLA_INFO_DATA/VETH_INFO_PEER; IFLA_NET_NS_FD there makes the kernel
 * create it directly in that namespace under its final name (no rename, no move, no window where a
 * half-made pair is visible). Exists (either name, in its namespace): EEXIST. peerMtu defaults to mtu.
 */
export function linkAddVethRequest(spec: LinkAddVethSpec): LinkMessage {
  const attrs = commonLinkAttrs(spec.name, spec.mtu, spec.mac);
  const peerAttrs = commonLinkAttrs(spec.peerName, spec.peerMtu ?? spec.mtu, spec.peerMac);
  if (spec.peerNetnsFd !== undefined) {
    if (!Number.isInteger(spec.peerNetnsFd) || spec.peerNetnsFd < 0) throw new RangeError(`Invalid netns fd ${spec.peerNetnsFd}`);
    peerAttrs.push(nla.u32(IFLA_NET_NS_FD, spec.peerNetnsFd));
  }
  const peer: RawAttr = {
    type: VETH_INFO_PEER,
    nested: true,
    data: concat(encodeIfInfoMsg(ZERO_IFINFOMSG), encodeAttrs(peerAttrs)),
  };
  attrs.push(nla.nest(IFLA_LINKINFO, [nla.str(IFLA_INFO_KIND, "veth"), nla.nest(IFLA_INFO_DATA, [peer])]));
  return linkMsg(RTM_NEWLINK, ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, {}, attrs);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** `ip link set dev X up|down` — RTM_SETLINK, ifi_flags/ifi_change IFF_UP, NLM_F_ACK. Missing: ENODEV. */
export function linkSetUpRequest(index: number, up: boolean): LinkMessage {
  checkIndex(index);
  return linkMsg(RTM_SETLINK, ACK, { index, flags: up ? IFF_UP : 0, change: IFF_UP }, []);
}

/** `ip link set dev X promisc on|off` — RTM_SETLINK, ifi_flags/ifi_change IFF_PROMISC. Missing: ENODEV. */
export function linkSetPromiscRequest(index: number, on: boolean): LinkMessage {
  checkIndex(index);
  return linkMsg(RTM_SETLINK, ACK, { index, flags: on ? IFF_PROMISC : 0, change: IFF_PROMISC }, []);
}

/**
 * `ip link set dev X master M` (M = 0: `nomaster`) — RTM_SETLINK with IFLA_MASTER. Missing: ENODEV (either).
 */
export function linkSetMasterRequest(index: number, masterIndex: number): LinkMessage {
  checkIndex(index);
  if (masterIndex !== 0) checkIndex(masterIndex);
  return linkMsg(RTM_SETLINK, ACK, { index }, [nla.u32(IFLA_MASTER, masterIndex)]);
}

/** `ip link set dev X mtu M` — RTM_SETLINK with IFLA_MTU. Out of the device's range: EINVAL. */
export function linkSetMtuRequest(index: number, mtu: number): LinkMessage {
  checkIndex(index);
  checkMtu(mtu);
  return linkMsg(RTM_SETLINK, ACK, { index }, [nla.u32(IFLA_MTU, mtu)]);
}

/** `ip link set dev X name N` — RTM_SETLINK with IFLA_IFNAME. Taken: EEXIST; link up: EBUSY. */
export function linkSetNameRequest(index: number, name: string): LinkMessage {
  checkIndex(index);
  checkIfName(name);
  return linkMsg(RTM_SETLINK, ACK, { index }, [nla.str(IFLA_IFNAME, name)]);
}

/**
 * IFALIASZ (linux/if.h) is 256, but the netlink policy (NLA_STRING, len IFALIASZ - 1) counts the NUL we
 * send: this kernel answers ERANGE to 255 bytes of text, so at most 254.
 */
const IFALIASZ = 256;

/** `ip link set dev X alias TEXT` — RTM_SETLINK with IFLA_IFALIAS (NUL-terminated); "" removes the alias. */
export function linkSetAliasRequest(index: number, alias: string): LinkMessage {
  checkIndex(index);
  if (textEncoder.encode(alias).length >= IFALIASZ - 1 || alias.includes("\0")) {
    throw new RangeError(`Invalid interface alias ${JSON.stringify(alias)}: at most ${IFALIASZ - 2} bytes, no NUL`);
  }
  return linkMsg(RTM_SETLINK, ACK, { index }, [nla.str(IFLA_IFALIAS, alias)]);
}

/** `ip link set dev X address MAC` — RTM_SETLINK with IFLA_ADDRESS. */
export function linkSetMacRequest(index: number, mac: string): LinkMessage {
  checkIndex(index);
  return linkMsg(RTM_SETLINK, ACK, { index }, [nla.bytes(IFLA_ADDRESS, parseMac(mac))]);
}

/**
 * `ip link set dev X netns FD` — RTM_SETLINK with IFLA_NET_NS_FD. The link gets a new ifindex if its index is
 * taken in the target namespace: look it up by name there afterwards. Name taken there: EEXIST.
 */
export function linkSetNetnsRequest(index: number, netnsFd: number): LinkMessage {
  checkIndex(index);
  if (!Number.isInteger(netnsFd) || netnsFd < 0) throw new RangeError(`Invalid netns fd ${netnsFd}`);
  return linkMsg(RTM_SETLINK, ACK, { index }, [nla.u32(IFLA_NET_NS_FD, netnsFd)]);
}

/**
 * `bridge link set dev X hairpin on|off` — RTM_SETLINK with family AF_BRIDGE and IFLA_PROTINFO (nested)
 * { IFLA_BRPORT_MODE u8 }: handled by the bridge driver (br_setlink) for its port X. This is the path that
 * works on every kernel with bridges; the state comes back in a plain AF_UNSPEC link dump as
 * IFLA_LINKINFO/IFLA_INFO_SLAVE_DATA/IFLA_BRPORT_MODE (see decodeLink). Not a bridge port: EOPNOTSUPP/EINVAL.
 */
export function linkSetHairpinRequest(index: number, on: boolean): LinkMessage {
  checkIndex(index);
  return linkMsg(RTM_SETLINK, ACK, { family: AF_BRIDGE, index }, [nla.nest(IFLA_PROTINFO, [nla.u8(IFLA_BRPORT_MODE, on ? 1 : 0)])]);
}

/** `ip link del dev X` — RTM_DELLINK, ifi_index, NLM_F_ACK. Missing: ENODEV. Deleting a veth end deletes both. */
export function linkDelRequest(index: number): LinkMessage {
  checkIndex(index);
  return linkMsg(RTM_DELLINK, ACK, { family: AF_UNSPEC, index }, []);
}

// --- decoding ---

/** RTM_NEWLINK -> Link. Unknown attributes stay in `attrs`. */
/** The Link fields that come from attributes; each decoder below fills its own. */
type LinkAttrFields = { -readonly [K in "name" | "kind" | "mtu" | "mac" | "master" | "parentIndex" | "linkNetnsId" | "operstate" | "hairpin" | "alias"]: Link[K] };
type LinkAttrDecoder = (f: LinkAttrFields, a: RawAttr, family: number) => void;

/** IFLA_BRPORT_MODE (hairpin) inside a port's nested settings, when present. */
function hairpinIn(portSettings: RawAttr, f: LinkAttrFields): void {
  const mode = findAttr(attrNested(portSettings), IFLA_BRPORT_MODE);
  if (mode !== undefined) f.hairpin = attrU8(mode) !== 0;
}

const LINK_ATTR_DECODERS: Readonly<Record<number, LinkAttrDecoder>> = {
  [IFLA_IFNAME]: (f, a) => void (f.name = attrStr(a)),
  [IFLA_MTU]: (f, a) => void (f.mtu = attrU32(a)),
  [IFLA_IFALIAS]: (f, a) => void (f.alias = attrStr(a)),
  [IFLA_ADDRESS]: (f, a) => void (f.mac = formatMac(a.data)),
  [IFLA_MASTER]: (f, a) => void (f.master = attrU32(a)),
  [IFLA_LINK]: (f, a) => void (f.parentIndex = attrU32(a)),
  [IFLA_LINK_NETNSID]: (f, a) => void (f.linkNetnsId = attrU32(a) | 0), // s32
  [IFLA_OPERSTATE]: (f, a) => void (f.operstate = attrU8(a)),
  [IFLA_LINKINFO]: (f, a) => {
    const info = attrNested(a);
    const k = findAttr(info, IFLA_INFO_KIND);
    if (k !== undefined) f.kind = attrStr(k);
    const slaveKind = findAttr(info, IFLA_INFO_SLAVE_KIND);
    const slaveData = findAttr(info, IFLA_INFO_SLAVE_DATA);
    if (slaveKind !== undefined && attrStr(slaveKind) === "bridge" && slaveData !== undefined) hairpinIn(slaveData, f);
  },
  // AF_BRIDGE dumps carry the port settings here instead.
  [IFLA_PROTINFO]: (f, a, family) => {
    if (family === AF_BRIDGE) hairpinIn(a, f);
  },
};

export function decodeLink(msg: LinkMessage): Link {
  const { header, attrs } = msg;
  const f: LinkAttrFields = {
    name: "", kind: undefined, mtu: 0, mac: "", master: undefined, parentIndex: undefined, linkNetnsId: undefined,
    operstate: undefined, hairpin: undefined, alias: undefined,
  };
  for (const a of attrs) LINK_ATTR_DECODERS[a.type]?.(f, a, header.family);
  return {
    index: header.index,
    name: f.name,
    kind: f.kind,
    flags: header.flags,
    up: (header.flags & IFF_UP) !== 0,
    mtu: f.mtu,
    mac: f.mac,
    master: f.master,
    // Kernel surprise: IFLA_LINK is only sent when it differs from the link's own ifindex, so a veth whose
    // peer, in another namespace, happens to have the same ifindex reports no parent at all.
    parentIndex: f.parentIndex,
    linkNetnsId: f.linkNetnsId,
    operstate: f.operstate,
    promisc: (header.flags & IFF_PROMISC) !== 0,
    hairpin: f.hairpin,
    alias: f.alias,
    attrs,
  };
}
