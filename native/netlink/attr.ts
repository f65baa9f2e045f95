// native/netlink/attr: the netlink byte codec: a growable writer (host byte order, 4-byte alignment,
// back-patched message and nest lengths) and TLV attribute encode/decode. Attributes decode to RawAttr,
// kept verbatim, so nothing the kernel sends is lost even when we do not understand it.
// Pure (no I/O); imports ../api.ts types and ./constants only.

import type { RawAttr } from "../api.js";
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, align4 } from "./constants.js";

/** Netlink uses host byte order; x86_64 and aarch64 are little-endian, but do not assume it. */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const at = this.len;
    const need = at + n;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    this.len = need;
    return at;
  }

  u8(v: number): this {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.reserve(2);
    this.view.setUint16(at, v, HOST_LE);
    return this;
  }
  u32(v: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, v >>> 0, HOST_LE);
    return this;
  }
  s32(v: number): this {
    const at = this.reserve(4);
    this.view.setInt32(at, v, HOST_LE);
    return this;
  }
  bytes(data: Uint8Array): this {
    const at = this.reserve(data.length); // first: reserve() may replace this.buf
    this.buf.set(data, at);
    return this;
  }
  /** Zero padding up to the next multiple of 4 (the buffer is zero-filled on growth and never reused). */
  align(): this {
    this.reserve(align4(this.len) - this.len);
    return this;
  }
  patchU16(offset: number, v: number): void {
    this.view.setUint16(offset, v, HOST_LE);
  }
  patchU32(offset: number, v: number): void {
    this.view.setUint32(offset, v >>> 0, HOST_LE);
  }

  /** One attribute: header, payload, padding. */
  attr(a: RawAttr): this {
    const type = (a.type & NLA_TYPE_MASK) | (a.nested ? NLA_F_NESTED : 0);
    if (a.data.length + NLA_HDRLEN > 0xffff) throw new RangeError(`Netlink attribute ${a.type} is too long`);
    this.u16(NLA_HDRLEN + a.data.length).u16(type).bytes(a.data).align();
    return this;
  }

  /** Opens a nested attribute; `endNest` back-patches its length once the children are written. */
  beginNest(type: number, flagNested = true): number {
    const at = this.len;
    this.u16(0).u16((type & NLA_TYPE_MASK) | (flagNested ? NLA_F_NESTED : 0));
    return at;
  }
  endNest(at: number): void {
    this.align();
    const len = this.len - at;
    if (len > 0xffff) throw new RangeError("Nested netlink attribute is too long");
    this.patchU16(at, len);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Encodes a list of attributes (each padded to 4 bytes). */
export function encodeAttrs(attrs: readonly RawAttr[]): Uint8Array {
  const w = new ByteWriter();
  for (const a of attrs) w.attr(a);
  return w.finish();
}

/**
 * Decodes the TLVs in `data` (which should start 4-aligned). The returned payloads are views into `data`.
 * @throws RangeError on a malformed attribute (length below the header or past the end)
 */
export function decodeAttrs(data: Uint8Array): RawAttr[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: RawAttr[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= data.length) {
    const len = view.getUint16(off, HOST_LE);
    const rawType = view.getUint16(off + 2, HOST_LE);
    if (len < NLA_HDRLEN || off + len > data.length) {
      throw new RangeError(`Malformed netlink attribute at offset ${off}: length ${len}, ${data.length - off} bytes left`);
    }
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      data: data.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

// --- attribute constructors (for requests) ---

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export const nla = {
  u8: (type: number, v: number): RawAttr => ({ type, nested: false, data: Uint8Array.of(v & 0xff) }),
  u16: (type: number, v: number): RawAttr => {
    const data = new Uint8Array(2);
    new DataView(data.buffer).setUint16(0, v, HOST_LE);
    return { type, nested: false, data };
  },
  u32: (type: number, v: number): RawAttr => {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, v >>> 0, HOST_LE);
    return { type, nested: false, data };
  },
  /** A u16 in network byte order (ports in ctnetlink tuples). */
  be16: (type: number, v: number): RawAttr => ({ type, nested: false, data: Uint8Array.of((v >> 8) & 0xff, v & 0xff) }),
  s32: (type: number, v: number): RawAttr => {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setInt32(0, v, HOST_LE);
    return { type, nested: false, data };
  },
  /** A NUL-terminated string (NLA_NUL_STRING / NLA_STRING both accept the terminator). */
  str: (type: number, s: string): RawAttr => {
    const bytes = textEncoder.encode(s);
    const data = new Uint8Array(bytes.length + 1);
    data.set(bytes);
    return { type, nested: false, data };
  },
  bytes: (type: number, data: Uint8Array): RawAttr => ({ type, nested: false, data }),
  /** A nested attribute (NLA_F_NESTED set, as iproute2's addattr_nest does). */
  nest: (type: number, children: readonly RawAttr[]): RawAttr => ({ type, nested: true, data: encodeAttrs(children) }),
} as const;

// --- attribute readers (for replies) ---

export function findAttr(attrs: readonly RawAttr[], type: number): RawAttr | undefined {
  for (const a of attrs) if (a.type === type) return a;
  return undefined;
}

function viewOf(a: RawAttr): DataView {
  return new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
}

function need(a: RawAttr, n: number): void {
  if (a.data.length < n) throw new RangeError(`Netlink attribute ${a.type} has ${a.data.length} bytes, expected ${n}`);
}

export function attrU8(a: RawAttr): number {
  need(a, 1);
  return a.data[0] as number;
}
export function attrU16(a: RawAttr): number {
  need(a, 2);
  return viewOf(a).getUint16(0, HOST_LE);
}
export function attrU32(a: RawAttr): number {
  need(a, 4);
  return viewOf(a).getUint32(0, HOST_LE);
}
/** A string attribute, up to its first NUL. */
export function attrStr(a: RawAttr): string {
  const nul = a.data.indexOf(0);
  return textDecoder.decode(nul < 0 ? a.data : a.data.subarray(0, nul));
}
/** The children of a nested attribute (whether or not the kernel set NLA_F_NESTED on it). */
export function attrNested(a: RawAttr): RawAttr[] {
  return decodeAttrs(a.data);
}
