// native/tc/messages: traffic-control messages (struct tcmsg + attributes) with paired encode/decode, the
// tc counterpart of rtnl/messages.ts. Attributes stay RawAttr: unknown ones survive a decode.
// Pure (no I/O); imports ../netlink codec, ./constants and ../api types.

import type { RawAttr } from "../api.js";
import { HOST_LE, decodeAttrs } from "../netlink/attr.js";
import { encodeMessage, type FamilyMessage, type NlMessage } from "../netlink/header.js";
import {
  RTM_DELQDISC,
  RTM_DELTFILTER,
  RTM_GETQDISC,
  RTM_GETTFILTER,
  RTM_NEWQDISC,
  RTM_NEWTFILTER,
  TCMSG_LEN,
} from "./constants.js";

/** struct tcmsg (20 bytes). For a filter, `info` is TC_H_MAKE(priority << 16, htons(protocol)). */
export interface TcMsg {
  readonly family: number; // u8 (+ 3 pad bytes)
  readonly index: number; // s32 ifindex
  readonly handle: number; // u32
  readonly parent: number; // u32
  readonly info: number; // u32
}

export type QdiscMessageType = typeof RTM_NEWQDISC | typeof RTM_DELQDISC | typeof RTM_GETQDISC;
export type FilterMessageType = typeof RTM_NEWTFILTER | typeof RTM_DELTFILTER | typeof RTM_GETTFILTER;

export type QdiscMessage = FamilyMessage<"qdisc", QdiscMessageType, TcMsg>;
export type FilterMessage = FamilyMessage<"filter", FilterMessageType, TcMsg>;
export type TcMessage = QdiscMessage | FilterMessage;

export const ZERO_TCMSG: TcMsg = { family: 0, index: 0, handle: 0, parent: 0, info: 0 };

/** The whole netlink message (nlmsghdr with seq 0 and pid 0, struct tcmsg, attributes). */
export function encodeTcMessage(msg: TcMessage): Uint8Array {
  return encodeMessage(msg.type, msg.flags, (w) => {
    const h = msg.header;
    w.u8(h.family).u8(0).u16(0).s32(h.index).u32(h.handle).u32(h.parent).u32(h.info);
    for (const a of msg.attrs) w.attr(a);
  });
}

function decodeTcMsg(p: Uint8Array): TcMsg {
  if (p.length < TCMSG_LEN) throw new RangeError(`Truncated tcmsg: ${p.length} bytes, expected at least ${TCMSG_LEN}`);
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return {
    family: v.getUint8(0),
    index: v.getInt32(4, HOST_LE),
    handle: v.getUint32(8, HOST_LE),
    parent: v.getUint32(12, HOST_LE),
    info: v.getUint32(16, HOST_LE),
  };
}

/** Decodes a qdisc or filter message; undefined for any other type. */
export function decodeTcMessage(m: NlMessage): TcMessage | undefined {
  const body = (): { flags: number; header: TcMsg; attrs: RawAttr[] } => ({
    flags: m.flags,
    header: decodeTcMsg(m.payload),
    attrs: decodeAttrs(m.payload.subarray(TCMSG_LEN)),
  });
  switch (m.type) {
    case RTM_NEWQDISC:
    case RTM_DELQDISC:
    case RTM_GETQDISC:
      return { kind: "qdisc", type: m.type, ...body() };
    case RTM_NEWTFILTER:
    case RTM_DELTFILTER:
    case RTM_GETTFILTER:
      return { kind: "filter", type: m.type, ...body() };
    default:
      return undefined;
  }
}
