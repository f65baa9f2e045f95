// native/ffi/bun-libc: the unix stream socket calls of libc through Bun's own FFI (`bun:ffi`), for the thin
// CNI client when it runs as the Bun-compiled executable. The only file that touches bun:ffi (the layering
// check enforces it). Imports ./sys-error only. Synchronous: every call blocks, like ./libc.ts.
// Why not koffi here: dlopen'ing koffi's .node under Bun costs 20-50 ms per call (it pulls in libstdc++),
// against ~8 ms for Bun's FFI; the client needs six calls. Native code: bun:ffi compiles its call stubs in
// memory; the one library opened is the C library the process already runs on, by its soname through the
// dynamic loader's trusted paths (never a file another user could have written).
// bun:ffi is fetched with process.getBuiltinModule at run time, so bundlers never see it and Node (where it
// does not exist) gets `undefined` from {@link bunLibc}: the caller then uses ./libc.ts.

import { SysError } from "./sys-error.js";

/** The socket calls the thin client needs, with ./libc.ts's signatures and errors (SysError, EINTR retried). */
export interface StreamCalls {
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: Uint8Array, detail?: string): void;
  send(fd: number, data: Uint8Array, flags?: number): number;
  recvfrom(fd: number, buf: Uint8Array, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, detail?: string): void;
  close(fd: number): void;
}

/** The part of bun:ffi used here (Bun has no typings in this repo; this is the boundary). */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { readonly args: readonly string[]; readonly returns: string }>): {
    readonly symbols: Record<string, (...args: unknown[]) => unknown>;
  };
  readonly read: { i32(ptr: unknown, offset: number): number };
}

/** The C library's soname (glibc; Bun's Linux builds are glibc builds, the musl ones are separate). */
const LIBC = "libc.so.6";

const SYMBOLS = {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  connect: { args: ["i32", "ptr", "u32"], returns: "i32" },
  send: { args: ["i32", "ptr", "u64", "i32"], returns: "i64" },
  recv: { args: ["i32", "ptr", "u64", "i32"], returns: "i64" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  // errno is thread-local: its address is fetched once and read right after each failing call.
  __errno_location: { args: [], returns: "ptr" },
} as const;

const EINTR = 4;

function asNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new TypeError(`bun:ffi call returned ${typeof v}, expected a number`);
}

function isBunFfi(m: unknown): m is BunFfi {
  const v = m as Partial<Record<keyof BunFfi, unknown>> | undefined;
  return typeof v?.dlopen === "function" && typeof v.read === "object" && v.read !== null;
}

/** Binds the calls on a loaded bun:ffi module. */
function bindStreamCalls(ffi: BunFfi, libPath = LIBC): StreamCalls {
  const f = ffi.dlopen(libPath, SYMBOLS).symbols;
  const call = (name: keyof typeof SYMBOLS, ...args: unknown[]): unknown => (f[name] as (...a: unknown[]) => unknown)(...args);
  const errnoAt = call("__errno_location");
  /** Calls, retrying on EINTR; throws SysError(syscall) on -1 with the errno of that call. */
  const check = (syscall: string, detail: string | undefined, run: () => unknown): number => {
    for (;;) {
      const r = asNumber(run());
      if (r !== -1) return r;
      const errno = ffi.read.i32(errnoAt, 0);
      if (errno === EINTR) continue;
      throw new SysError(syscall, errno, detail);
    }
  };
  return {
    socket: (domain, type, protocol) => check("socket", undefined, () => call("socket", domain, type, protocol)),
    connect: (fd, addr, detail) => void check("connect", detail, () => call("connect", fd, addr, addr.length)),
    send: (fd, data, flags = 0) => check("sendto", undefined, () => call("send", fd, data, data.length, flags)),
    recvfrom: (fd, buf, flags) => check("recvfrom", undefined, () => call("recv", fd, buf, buf.length, flags)),
    setsockopt: (fd, level, name, value, detail) =>
      void check("setsockopt", detail, () => call("setsockopt", fd, level, name, value, value.length)),
    close: (fd) => {
      // No retry on EINTR (as ./libc.ts): the descriptor is released even then.
      if (asNumber(call("close", fd)) === -1) {
        const errno = ffi.read.i32(errnoAt, 0);
        if (errno !== EINTR) throw new SysError("close", errno);
      }
    },
  };
}

let bound: StreamCalls | null | undefined;

/**
 * The calls through bun:ffi when running under Bun, bound once; undefined under Node, or when Bun's FFI
 * cannot open the C library (the caller falls back to koffi).
 */
export function bunLibc(): StreamCalls | undefined {
  if (bound === undefined) {
    bound = null;
    const getBuiltin = process.getBuiltinModule as ((id: string) => unknown) | undefined;
    if (typeof (globalThis as { Bun?: unknown }).Bun === "object" && getBuiltin !== undefined) {
      try {
        const ffi = getBuiltin("bun:ffi");
        if (isBunFfi(ffi)) bound = bindStreamCalls(ffi);
      } catch {
        bound = null; // no FFI in this Bun build: koffi it is
      }
    }
  }
  return bound ?? undefined;
}
