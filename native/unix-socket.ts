// native/unix-socket: SO_PEERCRED for the agent's CNI service (who is on the other end of a connection), through
// koffi. The thin client's side (connect, send, read to EOF) is ./unix-stream.ts. Imports ./ffi/libc and
// ./ffi/sys-error. Synchronous.

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
