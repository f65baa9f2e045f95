// native/netlink/header: struct nlmsghdr encode/decode, splitting a datagram into messages, and reading the
// payload of NLMSG_ERROR / NLMSG_DONE (errno + the kernel's extended ACK TLVs).
// Pure (no I/O); imports ./attr, ./constants and ../api types only.

import type { RawAttr } from "../api.js";
import { ByteWriter, HOST_LE, attrStr, attrU32, decodeAttrs, findAttr } from "./attr.js";
import {
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  align4,
} from "./constants.js";

/** One netlink message: struct nlmsghdr plus its payload (a view into the received datagram). */
export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly payload: Uint8Array;
}

/**
 * A decoded message of an rtnetlink family (link, addr, route, qdisc, filter): its nlmsg type and flags, the
 * family's fixed header struct, and the attributes (unknown ones kept), tagged by `kind`.
 */
export interface FamilyMessage<K extends string, T extends number, H> {
  readonly kind: K;
  readonly type: T;
  /** nlmsg_flags (NLM_F_*). */
  readonly flags: number;
  readonly header: H;
  readonly attrs: readonly RawAttr[];
}

/**
 * Writes a whole message: header (nlmsg_len back-patched), then whatever `body` writes.
 * `seq` and `pid` are usually 0 here: the socket stamps the sequence number when it sends.
 */
export function encodeMessage(
  type: number,
  flags: number,
  body: (w: ByteWriter) => void,
  seq = 0,
  pid = 0,
): Uint8Array {
  const w = new ByteWriter(128);
  w.u32(0).u16(type).u16(flags).u32(seq).u32(pid);
  body(w);
  w.align();
  w.patchU32(0, w.length);
  return w.finish();
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function readHeader(b: Uint8Array): { len: number; type: number; flags: number; seq: number; pid: number } {
  const v = view(b);
  return {
    len: v.getUint32(0, HOST_LE),
    type: v.getUint16(4, HOST_LE),
    flags: v.getUint16(6, HOST_LE),
    seq: v.getUint32(8, HOST_LE),
    pid: v.getUint32(12, HOST_LE),
  };
}

/** Sets nlmsg_seq (and nlmsg_flags bits) of an encoded request in place. */
export function stampRequest(msg: Uint8Array, seq: number, addFlags = 0): void {
  const v = view(msg);
  v.setUint16(6, v.getUint16(6, HOST_LE) | addFlags, HOST_LE);
  v.setUint32(8, seq >>> 0, HOST_LE);
}

/**
 * Splits a datagram into messages (NLMSG_OK / NLMSG_NEXT).
 * @throws RangeError on a truncated or malformed header
 */
export function parseMessages(datagram: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= datagram.length) {
    const h = readHeader(datagram.subarray(off));
    if (h.len < NLMSG_HDRLEN || off + h.len > datagram.length) {
      throw new RangeError(`Malformed netlink message at offset ${off}: nlmsg_len ${h.len}, ${datagram.length - off} bytes left`);
    }
    out.push({ type: h.type, flags: h.flags, seq: h.seq, pid: h.pid, payload: datagram.subarray(off + NLMSG_HDRLEN, off + h.len) });
    off += align4(h.len);
  }
  return out;
}

/** What an NLMSG_ERROR (or an NLMSG_DONE carrying an error) says. */
export interface ErrorPayload {
  /** Positive errno; 0 for an ACK. */
  readonly errno: number;
  /** NLMSGERR_ATTR_MSG: the kernel's human-readable reason, when it gave one. */
  readonly extAck: string | undefined;
  /** NLMSGERR_ATTR_OFFS: byte offset, in our request, of the attribute the kernel rejected. */
  readonly badAttrOffset: number | undefined;
  /** NLMSGERR_ATTR_MISS_TYPE: the attribute type the kernel missed. */
  readonly missingAttr: number | undefined;
}

function extAckTlvs(tlvBytes: Uint8Array): Omit<ErrorPayload, "errno"> {
  let attrs;
  try {
    attrs = decodeAttrs(tlvBytes);
  } catch {
    return { extAck: undefined, badAttrOffset: undefined, missingAttr: undefined };
  }
  const msg = findAttr(attrs, NLMSGERR_ATTR_MSG);
  const offs = findAttr(attrs, NLMSGERR_ATTR_OFFS);
  const miss = findAttr(attrs, NLMSGERR_ATTR_MISS_TYPE);
  const text = msg === undefined ? undefined : attrStr(msg);
  return {
    extAck: text === "" ? undefined : text,
    badAttrOffset: offs === undefined || offs.data.length < 4 ? undefined : attrU32(offs),
    missingAttr: miss === undefined || miss.data.length < 4 ? undefined : attrU32(miss),
  };
}

/**
 * struct nlmsgerr: `int error; struct nlmsghdr msg;` then (unless NLM_F_CAPPED) the rest of our request,
 * then (with NLM_F_ACK_TLVS) the extended ACK attributes.
 */
export function decodeErrorPayload(m: NlMessage): ErrorPayload {
  if (m.payload.length < 4) throw new RangeError(`Truncated NLMSG_ERROR (${m.payload.length} bytes)`);
  const error = view(m.payload).getInt32(0, HOST_LE);
  const none = { extAck: undefined, badAttrOffset: undefined, missingAttr: undefined };
  if ((m.flags & NLM_F_ACK_TLVS) === 0 || m.payload.length < 4 + NLMSG_HDRLEN) return { errno: -error, ...none };
  const echoedLen = readHeader(m.payload.subarray(4)).len;
  const tlvAt = 4 + ((m.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : align4(echoedLen));
  if (tlvAt > m.payload.length) return { errno: -error, ...none };
  return { errno: -error, ...extAckTlvs(m.payload.subarray(tlvAt)) };
}

/** NLMSG_DONE carries `int error` (0, or a negative errno that ended the dump), then maybe ext-ack TLVs. */
export function decodeDonePayload(m: NlMessage): ErrorPayload {
  if (m.payload.length < 4) return { errno: 0, extAck: undefined, badAttrOffset: undefined, missingAttr: undefined };
  const error = view(m.payload).getInt32(0, HOST_LE);
  if ((m.flags & NLM_F_ACK_TLVS) === 0) return { errno: -error, extAck: undefined, badAttrOffset: undefined, missingAttr: undefined };
  return { errno: -error, ...extAckTlvs(m.payload.subarray(4)) };
}
