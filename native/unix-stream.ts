// native/unix-stream: one blocking unix stream connection, for the thin CNI client (connect, send the request,
// read the answer to EOF). No node:net: the client must not load the streams stack. The libc calls are passed
// in (./ffi/bun-libc under Bun, ./ffi/libc through koffi under Node): see ./client.ts. Imports ./ffi/sys-error
// and a type. Synchronous.

import type { StreamCalls } from "./ffi/bun-libc.js";
import { SysError } from "./ffi/sys-error.js";

// Linux constants, identical on x86_64 and aarch64 (./ffi/libc.ts has them too; this file must not load it).
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const MSG_NOSIGNAL = 0x4000;
/** sun_path holds 108 bytes, the terminating NUL included. */
const SUN_PATH_BYTES = 108;

/** struct sockaddr_un for `path`. @throws SysError ENAMETOOLONG when it does not fit */
function sockaddrUn(path: string): Uint8Array {
  const p = new TextEncoder().encode(path);
  if (p.length >= SUN_PATH_BYTES) throw new SysError("connect", 36, `${JSON.stringify(path)} is longer than ${SUN_PATH_BYTES - 1} bytes`);
  const addr = new Uint8Array(2 + p.length + 1);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true); // sa_family_t, host order
  addr.set(p, 2);
  return addr;
}

function timeval(ms: number): Uint8Array {
  // struct timeval { long tv_sec; long tv_usec; } (64-bit)
  return new Uint8Array(new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt(Math.round(ms % 1000) * 1000)]).buffer);
}

/** One blocking connection. Every method throws SysError (ENOENT, ECONNREFUSED, EPIPE, EAGAIN = timed out...). */
export class UnixStream {
  readonly fd: number;
  readonly #calls: StreamCalls;
  #closed = false;

  private constructor(fd: number, calls: StreamCalls) {
    this.fd = fd;
    this.#calls = calls;
  }

  /** socket(AF_UNIX, SOCK_STREAM) + connect(path), through `calls`. */
  static connect(path: string, calls: StreamCalls): UnixStream {
    const addr = sockaddrUn(path);
    const fd = calls.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    try {
      calls.connect(fd, addr, JSON.stringify(path));
    } catch (e) {
      calls.close(fd);
      throw e;
    }
    return new UnixStream(fd, calls);
  }

  /** Sends all of `data` (MSG_NOSIGNAL: a closed peer is EPIPE, never a SIGPIPE). */
  writeAll(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) off += this.#calls.send(this.fd, data.subarray(off), MSG_NOSIGNAL);
  }

  /**
   * Reads until the peer closes (EOF) or `limit` bytes arrived. Each wait for data is bounded by `idleMs`
   * (SO_RCVTIMEO): a peer that goes silent for that long throws SysError EAGAIN.
   */
  readToEnd(limit: number, idleMs: number): Uint8Array {
    this.#calls.setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, timeval(idleMs), "SO_RCVTIMEO");
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = this.#calls.recvfrom(this.fd, buf, 0);
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
      total += n;
      if (total >= limit) break;
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#calls.close(this.fd);
  }
}
