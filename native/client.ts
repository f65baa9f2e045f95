// native/client: the thin CNI client's door into native/, beside ./index.ts (the layering check allows plugin/
// these two). It exists so the client's start-up loads only what it uses: a unix stream socket, no netlink,
// and no koffi under Bun. Under Bun the socket calls go through Bun's own FFI (./ffi/bun-libc); under Node
// (the Node-script build) through koffi (./ffi/libc), which is then loaded on the first call. Async only to
// load the koffi binding lazily; the calls themselves block.

import { bunLibc, type StreamCalls } from "./ffi/bun-libc.js";
import { UnixStream } from "./unix-stream.js";

export { UnixStream } from "./unix-stream.js";
export { SysError, isErrno } from "./ffi/sys-error.js";

/** Which binding the thin client's socket uses in this runtime (for tests and KUBENET_DEBUG). */
export type ClientBinding = "bun-ffi" | "koffi";

async function koffiCalls(): Promise<StreamCalls> {
  const { socket, connect, send, recvfrom, setsockopt, close } = await import("./ffi/libc.js");
  return { socket, connect, send, recvfrom, setsockopt, close };
}

/** The connect function of the thin client, on the cheapest binding this runtime has. */
export async function clientConnector(): Promise<{ readonly binding: ClientBinding; readonly connect: (path: string) => UnixStream }> {
  const bun = bunLibc();
  const calls: StreamCalls = bun ?? (await koffiCalls());
  return { binding: bun !== undefined ? "bun-ffi" : "koffi", connect: (path) => UnixStream.connect(path, calls) };
}
