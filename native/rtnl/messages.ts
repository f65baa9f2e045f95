// native/rtnl/messages: rtnetlink messages as a union on `kind` (link: ifinfomsg, addr: ifaddrmsg, route:
// rtmsg) with paired encode/decode. Attributes stay RawAttr (unknown ones survive a decode/encode round trip);
// link.ts, addr.ts and route.ts give them meaning.
// Pure (no I/O); imports ../netlink codec and ./constants.

import { ByteWriter, HOST_LE, decodeAttrs } from "../netlink/attr.js";
import { encodeMessage, type FamilyMessage, type NlMessage } from "../netlink/header.js";
import {
  IFADDRMSG_LEN,
  IFINFOMSG_LEN,
  RTMSG_LEN,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_SETLINK,
} from "./constants.js";

/** struct ifinfomsg (16 bytes). */
export interface IfInfoMsg {
  readonly family: number; // u8 (+ u8 pad)
  readonly type: number; // u16 ARPHRD_*
  readonly index: number; // s32
  readonly flags: number; // u32 IFF_*
  readonly change: number; // u32 mask of flags to change
}

/** struct ifaddrmsg (8 bytes). */
export interface IfAddrMsg {
  readonly family: number; // u8
  readonly prefixLen: number; // u8
  readonly flags: number; // u8 (low 8 bits of IFA_F_*)
  readonly scope: number; // u8
  readonly index: number; // u32
}

/** struct rtmsg (12 bytes). */
export interface RtMsg {
  readonly family: number;
  readonly dstLen: number;
  readonly srcLen: number;
  readonly tos: number;
  readonly table: number; // u8; RTA_TABLE carries tables >= 256
  readonly protocol: number;
  readonly scope: number;
  readonly type: number; // RTN_*
  readonly flags: number; // u32 RTM_F_*
}

export type LinkMessageType = typeof RTM_NEWLINK | typeof RTM_DELLINK | typeof RTM_GETLINK | typeof RTM_SETLINK;
export type AddrMessageType = typeof RTM_NEWADDR | typeof RTM_DELADDR | typeof RTM_GETADDR;
export type RouteMessageType = typeof RTM_NEWROUTE | typeof RTM_DELROUTE | typeof RTM_GETROUTE;

export type LinkMessage = FamilyMessage<"link", LinkMessageType, IfInfoMsg>;
export type AddrMessage = FamilyMessage<"addr", AddrMessageType, IfAddrMsg>;
export type RouteMessage = FamilyMessage<"route", RouteMessageType, RtMsg>;
export type RtnlMessage = LinkMessage | AddrMessage | RouteMessage;

export const ZERO_IFINFOMSG: IfInfoMsg = { family: 0, type: 0, index: 0, flags: 0, change: 0 };

function writeIfInfoMsg(w: ByteWriter, h: IfInfoMsg): void {
  w.u8(h.family).u8(0).u16(h.type).s32(h.index).u32(h.flags).u32(h.change);
}
function writeIfAddrMsg(w: ByteWriter, h: IfAddrMsg): void {
  w.u8(h.family).u8(h.prefixLen).u8(h.flags).u8(h.scope).u32(h.index);
}
function writeRtMsg(w: ByteWriter, h: RtMsg): void {
  w.u8(h.family).u8(h.dstLen).u8(h.srcLen).u8(h.tos).u8(h.table).u8(h.protocol).u8(h.scope).u8(h.type).u32(h.flags);
}

/** The bytes of one struct ifinfomsg (used inside VETH_INFO_PEER, where a nested attribute starts with one). */
export function encodeIfInfoMsg(h: IfInfoMsg): Uint8Array {
  const w = new ByteWriter(IFINFOMSG_LEN);
  writeIfInfoMsg(w, h);
  return w.finish();
}

/** The whole netlink message (nlmsghdr with seq 0 and pid 0, then the struct, then the attributes). */
export function encodeRtnlMessage(msg: RtnlMessage): Uint8Array {
  return encodeMessage(msg.type, msg.flags, (w) => {
    switch (msg.kind) {
      case "link":
        writeIfInfoMsg(w, msg.header);
        break;
      case "addr":
        writeIfAddrMsg(w, msg.header);
        break;
      case "route":
        writeRtMsg(w, msg.header);
        break;
    }
    for (const a of msg.attrs) w.attr(a);
  });
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function needLen(payload: Uint8Array, n: number, what: string): void {
  if (payload.length < n) throw new RangeError(`Truncated ${what}: ${payload.length} bytes, expected at least ${n}`);
}

function decodeIfInfoMsg(p: Uint8Array): IfInfoMsg {
  needLen(p, IFINFOMSG_LEN, "ifinfomsg");
  const v = view(p);
  return {
    family: v.getUint8(0),
    type: v.getUint16(2, HOST_LE),
    index: v.getInt32(4, HOST_LE),
    flags: v.getUint32(8, HOST_LE),
    change: v.getUint32(12, HOST_LE),
  };
}

function decodeIfAddrMsg(p: Uint8Array): IfAddrMsg {
  needLen(p, IFADDRMSG_LEN, "ifaddrmsg");
  const v = view(p);
  return { family: v.getUint8(0), prefixLen: v.getUint8(1), flags: v.getUint8(2), scope: v.getUint8(3), index: v.getUint32(4, HOST_LE) };
}

function decodeRtMsg(p: Uint8Array): RtMsg {
  needLen(p, RTMSG_LEN, "rtmsg");
  const v = view(p);
  return {
    family: v.getUint8(0),
    dstLen: v.getUint8(1),
    srcLen: v.getUint8(2),
    tos: v.getUint8(3),
    table: v.getUint8(4),
    protocol: v.getUint8(5),
    scope: v.getUint8(6),
    type: v.getUint8(7),
    flags: v.getUint32(8, HOST_LE),
  };
}

/**
 * Decodes an rtnetlink message (header struct + attributes, which stay views into `m.payload`).
 * Returns undefined for message types outside link/addr/route.
 */
export function decodeRtnlMessage(m: NlMessage): RtnlMessage | undefined {
  const p = m.payload;
  switch (m.type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
    case RTM_GETLINK:
    case RTM_SETLINK:
      return { kind: "link", type: m.type, flags: m.flags, header: decodeIfInfoMsg(p), attrs: decodeAttrs(p.subarray(IFINFOMSG_LEN)) };
    case RTM_NEWADDR:
    case RTM_DELADDR:
    case RTM_GETADDR:
      return { kind: "addr", type: m.type, flags: m.flags, header: decodeIfAddrMsg(p), attrs: decodeAttrs(p.subarray(IFADDRMSG_LEN)) };
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
    case RTM_GETROUTE:
      return { kind: "route", type: m.type, flags: m.flags, header: decodeRtMsg(p), attrs: decodeAttrs(p.subarray(RTMSG_LEN)) };
    default:
      return undefined;
  }
}
