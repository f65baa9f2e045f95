// native/unix-socket: blocking unix stream sockets through libc, for the thin CNI client (connect, send the
// request, read the answer to EOF) and SO_PEERCRED for the service (who is on the other end). No node:net:
// the client must not load the streams stack. Imports ./ffi/libc and ./ffi/sys-error. Synchronous.

import * as libc from "./ffi/libc.js";
import { SysError } from "./ffi/sys-error.js";

/** The peer's credentials as the kernel recorded them at connect() (struct ucred). */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** SO_PEERCRED of a connected unix socket: the connecting process's pid/uid/gid, as seen from our user namespace. */
export function peerCredentials(fd: number): PeerCredentials {
  const b = libc.getsockopt(fd, libc.SOL_SOCKET, libc.SO_PEERCRED, 12, "SO_PEERCRED");
  if (b.length < 12) throw new SysError("getsockopt", 22, `SO_PEERCRED returned ${b.length} bytes`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { pid: v.getInt32(0, true), uid: v.getUint32(4, true), gid: v.getUint32(8, true) };
}

/** struct sockaddr_un for `path` (the caller checked it fits: at most 107 bytes). */
function sockaddrUn(path: string): Uint8Array {
  const p = new TextEncoder().encode(path);
  const addr = new Uint8Array(2 + p.length + 1);
  new DataView(addr.buffer).setUint16(0, libc.AF_UNIX, true); // sa_family_t, host order
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
  private closed = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** socket(AF_UNIX, SOCK_STREAM) + connect(path). */
  static connect(path: string): UnixStream {
    const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM | libc.SOCK_CLOEXEC, 0);
    try {
      libc.connect(fd, sockaddrUn(path), JSON.stringify(path));
    } catch (e) {
      libc.close(fd);
      throw e;
    }
    return new UnixStream(fd);
  }

  /** Sends all of `data` (MSG_NOSIGNAL: a closed peer is EPIPE, never a SIGPIPE). */
  writeAll(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) off += libc.send(this.fd, data.subarray(off), libc.MSG_NOSIGNAL);
  }

  /**
   * Reads until the peer closes (EOF) or `limit` bytes arrived. Each wait for data is bounded by `idleMs`
   * (SO_RCVTIMEO): a peer that goes silent for that long throws SysError EAGAIN.
   */
  readToEnd(limit: number, idleMs: number): Uint8Array {
    libc.setsockopt(this.fd, libc.SOL_SOCKET, libc.SO_RCVTIMEO, timeval(idleMs), "SO_RCVTIMEO");
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = libc.recvfrom(this.fd, buf, 0);
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
    if (this.closed) return;
    this.closed = true;
    libc.close(this.fd);
  }
}
