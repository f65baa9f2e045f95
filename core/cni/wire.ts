// core/cni/wire: the framing between the thin CNI executable and the agent's CNI service (a unix stream
// socket). Pure: bytes in, values out; no I/O. One request and one answer per connection.
//
// Every frame starts with a fixed 12-byte header that no version may change:
//   magic "KCNI" (4) | version u8 | kind u8 | reserved u16 (0) | body length u32 (big endian)
// The service reads the header first and refuses an unknown magic or version BEFORE reading the body, so an
// upgrade never half-runs a request. A service only runs a request in a version it speaks and answers in that
// version; a REFUSED frame has the same layout in every version (reason u8 + UTF-8 message), so a client can
// always tell "refused, nothing ran" from "ran".
//
// Bodies (version 1), lengths big endian:
//   REQUEST: u16 len + invokedAs | u32 count, count x (u32 len + "KEY=VALUE") | u32 len + stdin bytes
//   RESULT:  i32 exit code | u32 len + stdout bytes | u32 len + stderr bytes
//   REFUSED: u8 reason | message (the rest of the body)

const WIRE_MAGIC = Uint8Array.of(0x4b, 0x43, 0x4e, 0x49); // "KCNI"
const WIRE_VERSION = 1;
export const WIRE_HEADER_BYTES = 12;
/** A request carries at most 1 MiB of stdin (skel's limit) plus the environment: 4 MiB is plenty. */
export const WIRE_MAX_BODY = 4 * 1024 * 1024;

export const FRAME_KIND = { REQUEST: 1, RESULT: 2, REFUSED: 3 } as const;
export type FrameKind = (typeof FRAME_KIND)[keyof typeof FRAME_KIND];

/** Why a service refused a request. Whatever the reason, nothing ran. */
export const REFUSAL = {
  /** Unknown magic or version. */
  VERSION: 1,
  /** The peer is not uid 0. */
  PEER: 2,
  /** The body does not decode. */
  MALFORMED: 3,
  /** The service is shutting down. */
  SHUTTING_DOWN: 4,
} as const;
export type RefusalReason = (typeof REFUSAL)[keyof typeof REFUSAL];

export interface FrameHeader {
  readonly version: number;
  readonly kind: number;
  readonly bodyLength: number;
}

export interface WireRequest {
  /** The name the executable was invoked as (picks kubenet, bridge, host-local or loopback). */
  readonly invokedAs: string;
  /** The runtime's environment table, in order. */
  readonly env: readonly (readonly [string, string])[];
  /** stdin, byte for byte. */
  readonly stdin: Uint8Array;
}

export interface WireResult {
  readonly exitCode: number;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
}

export interface WireRefusal {
  readonly reason: number;
  readonly message: string;
}

export type WireAnswer = ({ readonly kind: "result" } & WireResult) | ({ readonly kind: "refused" } & WireRefusal);

/** A frame that cannot be decoded; `refusal` is the reason a service gives for it. */
export class WireError extends Error {
  override readonly name = "WireError";
  readonly refusal: RefusalReason;
  constructor(refusal: RefusalReason, message: string) {
    super(message);
    this.refusal = refusal;
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = (b: Uint8Array): string => new TextDecoder("utf-8").decode(b);

function frame(kind: FrameKind, body: Uint8Array, version = WIRE_VERSION): Uint8Array {
  const out = new Uint8Array(WIRE_HEADER_BYTES + body.length);
  out.set(WIRE_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint8(4, version);
  view.setUint8(5, kind);
  view.setUint16(6, 0);
  view.setUint32(8, body.length);
  out.set(body, WIRE_HEADER_BYTES);
  return out;
}

/** Builds a body from parts: numbers are written as big-endian integers of the given width. */
class BodyWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  private int(width: 1 | 2 | 4, value: number, signed = false): void {
    const b = new Uint8Array(width);
    const v = new DataView(b.buffer);
    if (width === 1) v.setUint8(0, value);
    else if (width === 2) v.setUint16(0, value);
    else if (signed) v.setInt32(0, value);
    else v.setUint32(0, value);
    this.raw(b);
  }
  u8(value: number): void { this.int(1, value); }
  i32(value: number): void { this.int(4, value, true); }
  u32(value: number): void { this.int(4, value); }
  /** A length-prefixed byte string (u16 or u32 length). */
  bytes(data: Uint8Array, width: 2 | 4 = 4): void {
    if (width === 2 && data.length > 0xffff) throw new RangeError(`a ${data.length}-byte field does not fit a u16 length`);
    this.int(width, data.length);
    this.raw(data);
  }
  raw(data: Uint8Array): void {
    this.parts.push(data);
    this.size += data.length;
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

/** Reads a body front to back; running past the end is a MALFORMED frame. */
class BodyReader {
  private off = 0;
  private readonly view: DataView;
  private readonly body: Uint8Array;
  private readonly what: string;
  constructor(body: Uint8Array, what: string) {
    this.body = body;
    this.what = what;
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }
  private need(n: number): void {
    if (this.off + n > this.body.length) {
      throw new WireError(REFUSAL.MALFORMED, `${this.what} frame is truncated: needs ${this.off + n} bytes, has ${this.body.length}`);
    }
  }
  u8(): number { this.need(1); return this.view.getUint8(this.off++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.off); this.off += 2; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.off); this.off += 4; return v; }
  i32(): number { this.need(4); const v = this.view.getInt32(this.off); this.off += 4; return v; }
  bytes(width: 2 | 4 = 4): Uint8Array {
    const n = width === 2 ? this.u16() : this.u32();
    this.need(n);
    const out = this.body.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  rest(): Uint8Array {
    const out = this.body.subarray(this.off);
    this.off = this.body.length;
    return out;
  }
  end(): void {
    if (this.off !== this.body.length) {
      throw new WireError(REFUSAL.MALFORMED, `${this.what} frame has ${this.body.length - this.off} stray bytes after its last field`);
    }
  }
}

/**
 * Decodes the fixed header. @throws WireError VERSION for a wrong magic or an unknown version (`versions`:
 * the versions the reader speaks), MALFORMED for a body longer than WIRE_MAX_BODY
 */
export function decodeHeader(bytes: Uint8Array, versions: readonly number[] = [WIRE_VERSION]): FrameHeader {
  if (bytes.length < WIRE_HEADER_BYTES) throw new WireError(REFUSAL.MALFORMED, `frame header is ${bytes.length} bytes, expected ${WIRE_HEADER_BYTES}`);
  if (!WIRE_MAGIC.every((b, i) => bytes[i] === b)) {
    const seen = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
    throw new WireError(REFUSAL.VERSION, `not a kubenet CNI frame (magic 0x${seen}, expected "KCNI")`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, WIRE_HEADER_BYTES);
  const version = view.getUint8(4);
  if (!versions.includes(version)) {
    throw new WireError(REFUSAL.VERSION, `wire protocol version ${version} is not supported (this side speaks ${versions.join(", ")})`);
  }
  const bodyLength = view.getUint32(8);
  if (bodyLength > WIRE_MAX_BODY) throw new WireError(REFUSAL.MALFORMED, `frame body of ${bodyLength} bytes is larger than ${WIRE_MAX_BODY}`);
  return { version, kind: view.getUint8(5), bodyLength };
}

/** The header of a REFUSED frame, readable whatever its version (its layout never changes). */
function isRefusalHeader(bytes: Uint8Array): boolean {
  return bytes.length >= WIRE_HEADER_BYTES && WIRE_MAGIC.every((b, i) => bytes[i] === b) && bytes[5] === FRAME_KIND.REFUSED;
}

export function encodeRequest(req: WireRequest): Uint8Array {
  const w = new BodyWriter();
  w.bytes(utf8.encode(req.invokedAs), 2);
  w.u32(req.env.length);
  for (const [k, v] of req.env) w.bytes(utf8.encode(`${k}=${v}`));
  w.bytes(req.stdin);
  return frame(FRAME_KIND.REQUEST, w.finish());
}

export function decodeRequestBody(body: Uint8Array): WireRequest {
  const r = new BodyReader(body, "request");
  const invokedAs = fromUtf8(r.bytes(2));
  const count = r.u32();
  const env: (readonly [string, string])[] = [];
  for (let i = 0; i < count; i++) {
    const entry = fromUtf8(r.bytes());
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new WireError(REFUSAL.MALFORMED, `request environment entry ${JSON.stringify(entry.slice(0, 64))} is not KEY=VALUE`);
    env.push([entry.slice(0, eq), entry.slice(eq + 1)]);
  }
  const stdin = r.bytes();
  r.end();
  return { invokedAs, env, stdin };
}

export function encodeResult(res: WireResult, version = WIRE_VERSION): Uint8Array {
  const w = new BodyWriter();
  w.i32(res.exitCode);
  w.bytes(res.stdout);
  w.bytes(res.stderr);
  return frame(FRAME_KIND.RESULT, w.finish(), version);
}

export function encodeRefusal(reason: RefusalReason, message: string): Uint8Array {
  const w = new BodyWriter();
  w.u8(reason);
  w.raw(utf8.encode(message));
  return frame(FRAME_KIND.REFUSED, w.finish());
}

/**
 * Decodes a whole answer frame (header + body). A REFUSED frame decodes whatever its version; a RESULT only
 * in a version this side speaks. @throws WireError when the frame is incomplete or garbage
 */
export function decodeAnswer(bytes: Uint8Array): WireAnswer {
  if (isRefusalHeader(bytes)) {
    const len = new DataView(bytes.buffer, bytes.byteOffset, WIRE_HEADER_BYTES).getUint32(8);
    if (bytes.length < WIRE_HEADER_BYTES + len) throw new WireError(REFUSAL.MALFORMED, `refusal frame is truncated`);
    const r = new BodyReader(bytes.subarray(WIRE_HEADER_BYTES, WIRE_HEADER_BYTES + len), "refusal");
    return { kind: "refused", reason: r.u8(), message: fromUtf8(r.rest()) };
  }
  const h = decodeHeader(bytes);
  if (h.kind !== FRAME_KIND.RESULT) throw new WireError(REFUSAL.MALFORMED, `answer frame has kind ${h.kind}, expected a result (${FRAME_KIND.RESULT})`);
  if (bytes.length !== WIRE_HEADER_BYTES + h.bodyLength) {
    throw new WireError(REFUSAL.MALFORMED, `answer frame is ${bytes.length} bytes, its header says ${WIRE_HEADER_BYTES + h.bodyLength}`);
  }
  const r = new BodyReader(bytes.subarray(WIRE_HEADER_BYTES), "result");
  const exitCode = r.i32();
  const stdout = r.bytes();
  const stderr = r.bytes();
  r.end();
  return { kind: "result", exitCode, stdout, stderr };
}
