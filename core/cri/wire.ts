// core/cri/wire: the protobuf wire format (proto3), just what the CRI messages we use need: varints, strings,
// bools, nested messages, map<string,string> and repeated fields. Pure; no I/O. Encoding follows proto3's
// rule that default values (0, "", false) are not written; decoding keeps unknown fields out of the way
// (skipped by wire type), so a newer runtime's extra fields never break us.

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Builds one message. Field numbers come from kubernetes/cri-api pkg/apis/runtime/v1/api.proto. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];

  private varint(value: bigint): void {
    const bytes: number[] = [];
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.parts.push(Uint8Array.from(bytes));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  /** int32/int64/uint32/enum (negative int32/int64 take 10 bytes, as protobuf does). */
  int(field: number, value: number | bigint | undefined): this {
    if (value === undefined || value === 0 || value === 0n) return this;
    this.tag(field, WIRE_VARINT);
    this.varint(BigInt(value));
    return this;
  }

  bool(field: number, value: boolean | undefined): this {
    return value === true ? this.int(field, 1) : this;
  }

  bytes(field: number, value: Uint8Array, keepEmpty = false): this {
    if (value.length === 0 && !keepEmpty) return this;
    this.tag(field, WIRE_LEN);
    this.varint(BigInt(value.length));
    this.parts.push(value);
    return this;
  }

  string(field: number, value: string | undefined): this {
    return value === undefined ? this : this.bytes(field, Buffer.from(value, "utf8"));
  }

  /** A nested message; written even when empty (presence matters for messages). */
  message(field: number, build: ((w: ProtoWriter) => void) | undefined): this {
    if (build === undefined) return this;
    const w = new ProtoWriter();
    build(w);
    return this.bytes(field, w.finish(), true);
  }

  /** map<string,string>: one entry message (key = 1, value = 2) per pair. */
  map(field: number, value: Readonly<Record<string, string>> | undefined): this {
    for (const [k, v] of Object.entries(value ?? {})) this.message(field, (e) => e.string(1, k).string(2, v));
    return this;
  }

  finish(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

/** One decoded field: varints as bigint, length-delimited as bytes. */
export type ProtoField =
  | { readonly field: number; readonly wire: "varint"; readonly value: bigint }
  | { readonly field: number; readonly wire: "len"; readonly value: Uint8Array };

export class ProtoDecodeError extends Error {
  override readonly name = "ProtoDecodeError";
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = pos; i < buf.length && shift < 70n; i++) {
    const b = buf[i] as number;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [BigInt.asUintN(64, result), i + 1];
    shift += 7n;
  }
  throw new ProtoDecodeError(`truncated or overlong varint at byte ${pos}`);
}

/** Splits a message into its fields, in order; skips fixed-width fields (none of ours use them). */
export function decodeFields(buf: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === WIRE_VARINT) {
      const [value, next] = readVarint(buf, afterKey);
      fields.push({ field, wire: "varint", value });
      pos = next;
    } else if (wire === WIRE_LEN) {
      const [len, start] = readVarint(buf, afterKey);
      const end = start + Number(len);
      if (end > buf.length) throw new ProtoDecodeError(`field ${field} claims ${len} bytes, only ${buf.length - start} left`);
      fields.push({ field, wire: "len", value: buf.subarray(start, end) });
      pos = end;
    } else if (wire === WIRE_I64 || wire === WIRE_I32) {
      pos = afterKey + (wire === WIRE_I64 ? 8 : 4);
    } else {
      throw new ProtoDecodeError(`unsupported wire type ${wire} for field ${field}`);
    }
  }
  if (pos > buf.length) throw new ProtoDecodeError("message ends inside a fixed-width field");
  return fields;
}

/** Typed access to a decoded message; the last occurrence of a singular field wins (protobuf rule). */
export class ProtoReader {
  private readonly fields: ProtoField[];

  constructor(buf: Uint8Array) {
    this.fields = decodeFields(buf);
  }

  private last(field: number, wire: ProtoField["wire"]): ProtoField | undefined {
    for (let i = this.fields.length - 1; i >= 0; i--) {
      const f = this.fields[i] as ProtoField;
      if (f.field === field && f.wire === wire) return f;
    }
    return undefined;
  }

  int(field: number): number {
    const f = this.last(field, "varint");
    return f === undefined ? 0 : Number(BigInt.asIntN(64, f.value as bigint));
  }

  bigint(field: number): bigint {
    const f = this.last(field, "varint");
    return f === undefined ? 0n : BigInt.asIntN(64, f.value as bigint);
  }

  bool(field: number): boolean {
    return this.int(field) !== 0;
  }

  string(field: number): string {
    const f = this.last(field, "len");
    return f === undefined ? "" : Buffer.from(f.value as Uint8Array).toString("utf8");
  }

  message(field: number): ProtoReader | undefined {
    const f = this.last(field, "len");
    return f === undefined ? undefined : new ProtoReader(f.value as Uint8Array);
  }

  repeatedMessages(field: number): ProtoReader[] {
    return this.fields.filter((f) => f.field === field && f.wire === "len").map((f) => new ProtoReader(f.value as Uint8Array));
  }

  repeatedStrings(field: number): string[] {
    return this.fields.filter((f) => f.field === field && f.wire === "len").map((f) => Buffer.from(f.value as Uint8Array).toString("utf8"));
  }

  map(field: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.repeatedMessages(field)) out[e.string(1)] = e.string(2);
    return out;
  }
}
