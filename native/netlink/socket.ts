// native/netlink/socket: the netlink request engine. NetlinkSocket sends one request at a time over a
// NetlinkTransport and reads until its answer is complete: an ACK, a reply plus ACK, or a multipart dump up
// to NLMSG_DONE. It checks sequence numbers and port ids, turns NLMSG_ERROR into NetlinkError (errno +
// extended ACK), retries dumps the kernel marks NLM_F_DUMP_INTR, and maps a receive timeout to ETIMEDOUT.
// Imports ../ffi/libc (only in openKernelTransport) and the pure netlink codec. Synchronous.

import * as libc from "../ffi/libc.js";
import { SysError } from "../ffi/sys-error.js";
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
} from "./constants.js";
import { type ErrorPayload, type NlMessage, decodeDonePayload, decodeErrorPayload, parseMessages, readHeader, stampRequest } from "./header.js";
import { NetlinkError } from "./netlink-error.js";

/** Moves datagrams; the kernel socket in production, a fake in unit tests. */
export interface NetlinkTransport {
  /** Our netlink port id (nl_pid after bind); the kernel addresses its replies to it. */
  readonly portId: number;
  send(datagram: Uint8Array): void;
  /**
   * Receives one datagram sent by the kernel (a copy the caller may keep).
   * @throws SysError EAGAIN when the receive timeout expires
   */
  receive(): Uint8Array;
  close(): void;
}

export interface NetlinkSocketOptions {
  /** Names a message type for errors ("RTM_NEWLINK"); defaults to the number. */
  readonly typeName?: (type: number) => string;
  /** How often a dump the kernel marked NLM_F_DUMP_INTR is restarted before giving up (default 10). */
  readonly dumpRetries?: number;
  /** Only for the error text of a timeout: the receive timeout the transport was opened with. */
  readonly timeoutMs?: number;
}

const EAGAIN = 11;
const EINTR = 4;
const EPROTO = 71;
const ETIMEDOUT = 110;
const ENOBUFS = 105;

export class NetlinkSocket {
  private readonly transport: NetlinkTransport;
  private readonly typeName: (type: number) => string;
  private readonly dumpRetries: number;
  private readonly timeoutMs: number | undefined;
  private seq: number;
  private closed = false;

  constructor(transport: NetlinkTransport, options: NetlinkSocketOptions = {}) {
    this.transport = transport;
    this.typeName = options.typeName ?? ((t) => `netlink message type ${t}`);
    this.dumpRetries = options.dumpRetries ?? 10;
    this.timeoutMs = options.timeoutMs;
    // Start from the clock, as iproute2 does, so that replies to an earlier socket with the same port id
    // cannot be mistaken for ours.
    this.seq = Math.floor(Date.now() / 1000) >>> 0;
  }

  get portId(): number {
    return this.transport.portId;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }

  /** Sends a request with NLM_F_ACK and waits for the ACK. @throws NetlinkError */
  ack(request: Uint8Array, detail?: string): void {
    this.exchange(request, NLM_F_REQUEST | NLM_F_ACK, false, detail);
  }

  /**
   * Sends a request with NLM_F_ACK and returns the messages that came before the ACK (a GET's reply, or
   * the NLM_F_ECHO copy of what a NEW created). @throws NetlinkError
   */
  query(request: Uint8Array, detail?: string): NlMessage[] {
    return this.exchange(request, NLM_F_REQUEST | NLM_F_ACK, false, detail);
  }

  /** Sends a NLM_F_DUMP request and returns every message up to NLMSG_DONE. @throws NetlinkError */
  dump(request: Uint8Array, detail?: string): NlMessage[] {
    for (let attempt = 0; ; attempt++) {
      const { messages, interrupted } = this.exchangeDump(request, detail);
      if (!interrupted) return messages;
      // The kernel's table changed while it was dumping (NLM_F_DUMP_INTR): the result may miss or repeat
      // entries. Start over, a bounded number of times.
      if (attempt >= this.dumpRetries) {
        const op = this.typeName(readHeader(request).type);
        const err = new NetlinkError(op, EINTR, undefined, detail);
        err.message = `${op} dump was interrupted by concurrent changes ${attempt + 1} times in a row (EINTR)`;
        throw err;
      }
    }
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.seq = 1;
    return this.seq;
  }

  private exchangeDump(request: Uint8Array, detail: string | undefined): { messages: NlMessage[]; interrupted: boolean } {
    let interrupted = false;
    const messages = this.exchange(request, NLM_F_REQUEST | NLM_F_DUMP, true, detail, () => {
      interrupted = true;
    });
    return { messages, interrupted };
  }

  private exchange(
    request: Uint8Array,
    flags: number,
    dump: boolean,
    detail: string | undefined,
    onInterrupted?: () => void,
  ): NlMessage[] {
    if (this.closed) throw new Error("The netlink socket is closed");
    const seq = this.nextSeq();
    const op = this.typeName(readHeader(request).type);
    const msg = request.slice();
    stampRequest(msg, seq, flags);
    this.transport.send(msg);

    const replies: NlMessage[] = [];
    const fail = (p: ErrorPayload): NetlinkError => {
      const at = p.badAttrOffset === undefined ? "" : ` (attribute at byte ${p.badAttrOffset})`;
      const extAck = p.extAck === undefined ? (at === "" ? undefined : at.trim()) : p.extAck + at;
      return new NetlinkError(op, p.errno, extAck, detail);
    };
    for (;;) {
      const datagram = this.receive(op, detail);
      for (const m of parseMessages(datagram)) {
        if (m.seq !== seq) {
          // A late answer to an earlier request (e.g. one that timed out): not ours, skip it. A sequence
          // number we never sent means someone else is talking on our port: refuse to guess.
          if (isBefore(m.seq, seq)) continue;
          throw protocolError(op, detail, `reply with sequence number ${m.seq}, expected ${seq}`);
        }
        if (m.pid !== this.transport.portId) {
          throw protocolError(op, detail, `reply addressed to port ${m.pid}, ours is ${this.transport.portId}`);
        }
        if ((m.flags & NLM_F_DUMP_INTR) !== 0) onInterrupted?.();
        switch (m.type) {
          case NLMSG_NOOP:
            continue;
          case NLMSG_OVERRUN:
            throw new NetlinkError(op, ENOBUFS, "NLMSG_OVERRUN: the kernel dropped data", detail);
          case NLMSG_ERROR: {
            const p = decodeErrorPayload(m);
            if (p.errno !== 0) throw fail(p);
            // errno 0 is the ACK: it ends a non-dump request. (The kernel never ACKs a dump.)
            if (!dump) return replies;
            continue;
          }
          case NLMSG_DONE: {
            const p = decodeDonePayload(m);
            if (p.errno > 0) throw fail(p);
            if (dump) return replies;
            continue;
          }
          default:
            replies.push(m);
        }
      }
    }
  }

  private receive(op: string, detail: string | undefined): Uint8Array {
    try {
      return this.transport.receive();
    } catch (err) {
      if (err instanceof SysError && err.errno === EAGAIN) {
        const e = new NetlinkError(op, ETIMEDOUT, undefined, detail, { cause: err });
        const within = this.timeoutMs === undefined ? "" : ` within ${this.timeoutMs} ms`;
        e.message = `${op}${detail === undefined ? "" : ` (${detail})`} failed: no answer from the kernel${within} (ETIMEDOUT)`;
        throw e;
      }
      throw err;
    }
  }
}

/** Sequence numbers wrap at 2^32: `a` is before `b` when it is less than 2^31 behind. */
function isBefore(a: number, b: number): boolean {
  return ((b - a) >>> 0) < 0x80000000 && a !== b;
}

function protocolError(op: string, detail: string | undefined, what: string): NetlinkError {
  const e = new NetlinkError(op, EPROTO, what, detail);
  return e;
}

// --- the kernel transport ---

export interface KernelTransportOptions {
  /** SO_RCVTIMEO; 0 = wait forever. */
  readonly timeoutMs: number;
  /** SO_RCVBUF in bytes (the kernel caps it at net.core.rmem_max and doubles it). */
  readonly receiveBufferBytes?: number;
}

const SOCKADDR_NL_LEN = 12;

function u32Bytes(v: number): Uint8Array {
  return new Uint8Array(new Uint32Array([v]).buffer);
}

/**
 * Opens an AF_NETLINK socket of `protocol` in the calling thread's current network namespace (a netlink
 * socket stays bound to the namespace it was created in, whatever the thread does afterwards).
 */
export function openKernelTransport(protocol: number, options: KernelTransportOptions): NetlinkTransport {
  const fd = libc.socket(libc.AF_NETLINK, libc.SOCK_RAW | libc.SOCK_CLOEXEC, protocol);
  try {
    const one = u32Bytes(1);
    // Ask for the kernel's reason text with every error, and for strict checking of GET requests (the
    // kernel then filters dumps by the header fields we set and rejects what it does not understand).
    libc.setsockopt(fd, libc.SOL_NETLINK, libc.NETLINK_EXT_ACK, one, "NETLINK_EXT_ACK");
    libc.setsockopt(fd, libc.SOL_NETLINK, libc.NETLINK_GET_STRICT_CHK, one, "NETLINK_GET_STRICT_CHK");
    // Errors need not echo our whole request back; the header is enough.
    libc.setsockopt(fd, libc.SOL_NETLINK, libc.NETLINK_CAP_ACK, one, "NETLINK_CAP_ACK");
    if (options.timeoutMs > 0) {
      // struct timeval { long tv_sec; long tv_usec; } (64-bit)
      const tv = new BigInt64Array([BigInt(Math.floor(options.timeoutMs / 1000)), BigInt((options.timeoutMs % 1000) * 1000)]);
      libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVTIMEO, new Uint8Array(tv.buffer), "SO_RCVTIMEO");
    }
    if (options.receiveBufferBytes !== undefined) {
      libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVBUF, u32Bytes(options.receiveBufferBytes), "SO_RCVBUF");
    }
    const addr = new Uint8Array(SOCKADDR_NL_LEN);
    new DataView(addr.buffer).setUint16(0, libc.AF_NETLINK, true);
    libc.bind(fd, addr); // nl_pid 0: the kernel assigns our port id
    const bound = libc.getsockname(fd, SOCKADDR_NL_LEN);
    const portId = new DataView(bound.buffer, bound.byteOffset, bound.byteLength).getUint32(4, true);
    return new KernelTransport(fd, portId);
  } catch (err) {
    libc.close(fd);
    throw err;
  }
}

class KernelTransport implements NetlinkTransport {
  readonly portId: number;
  private fd: number;
  private buf = new Uint8Array(64 * 1024);
  private readonly from = new Uint8Array(SOCKADDR_NL_LEN);

  constructor(fd: number, portId: number) {
    this.fd = fd;
    this.portId = portId;
  }

  send(datagram: Uint8Array): void {
    if (this.fd < 0) throw new Error("The netlink socket is closed");
    libc.send(this.fd, datagram);
  }

  receive(): Uint8Array {
    if (this.fd < 0) throw new Error("The netlink socket is closed");
    for (;;) {
      // Peek first to learn the datagram's size (MSG_TRUNC reports the real length): a dump part is at most
      // ~32 KiB, but a single message (a link with many VFs) can be larger; never lose its tail.
      const size = libc.recvfrom(this.fd, this.buf, libc.MSG_PEEK | libc.MSG_TRUNC);
      if (size > this.buf.length) this.buf = new Uint8Array(size);
      const n = libc.recvfrom(this.fd, this.buf, 0, this.from);
      const senderPort = new DataView(this.from.buffer).getUint32(4, true);
      // Only the kernel (port 0) answers requests; drop anything another process sent to our port.
      if (senderPort !== 0) continue;
      return this.buf.slice(0, n);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    libc.close(fd);
  }
}
