// native/ffi/libc: the only file that loads koffi. Binds the few libc calls the native layer needs and turns
// a failed call into a SysError, reading errno right after the call (koffi saves it per call).
// May import node builtins and ./sys-error only. Synchronous: every call blocks the calling (main) thread,
// which is what makes setns() deterministic: the thread that entered a namespace is the one that leaves it.
// koffi and libc are loaded lazily, on the first call, and each function is declared on first use.

import { tmpdir } from "node:os";
import { addonCacheDirs, bunAssets, loadEmbeddedAddon, type SeaAssets } from "./sea-addon.js";
import { SysError } from "./sys-error.js";

/** The part of koffi's API we use, typed at the boundary (koffi's own typings are `any`). */
interface KoffiModule {
  readonly version: unknown;
  load(path: string | null): KoffiLibrary;
  errno(): number;
}
interface KoffiLibrary {
  func(declaration: string): KoffiFunction;
}
/** A bound C function: called directly (blocks this thread) or through `async` (a libuv pool thread). */
interface KoffiFunction {
  (...args: unknown[]): unknown;
  async(...args: unknown[]): void;
}

type Require = (id: string) => unknown;

/**
 * The ways to `require` koffi, tried in order. The production bundle is CommonJS: its own `require` resolves
 * from dist/ to the node_modules beside it. As ES modules (tests, ts loader) there is no `require` and
 * `import.meta` is off limits (the code is also bundled to CJS): resolve from the entry script, the executable
 * and the working directory instead. (A single executable never gets here: it loads its embedded koffi.node.)
 * node:module is fetched only then, so the CJS bundle never loads it (it drags in the ESM loader: ~0.4 ms).
 */
function requirers(): Require[] {
  const out: Require[] = [];
  if (typeof require === "function") out.push(require);
  let extra: Require[] | undefined;
  const more = (): Require[] => {
    if (extra === undefined) {
      const { createRequire } = process.getBuiltinModule("node:module");
      const bases = [process.argv[1], process.execPath, `${process.cwd()}/index.js`].filter((b): b is string => b !== undefined);
      extra = bases.map((b) => createRequire(b));
    }
    return extra;
  };
  // Lazily: the fallbacks cost nothing unless the first way fails.
  for (let i = 0; i < 3; i++) out.push((id) => {
    const r = more()[i];
    if (r === undefined) throw new Error(`Cannot find module ${id}`);
    return r(id);
  });
  return out;
}

/** requires `id` with the first way that works. @throws the first way's error when none does */
function requireAny(ways: readonly Require[], id: string): unknown {
  let first: unknown;
  for (const req of ways) {
    try {
      return req(id);
    } catch (err) {
      first ??= err;
    }
  }
  throw first;
}

function isKoffi(value: unknown): value is KoffiModule {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v["load"] === "function" && typeof v["errno"] === "function" && typeof v["version"] === "string";
}

/**
 * Loads koffi. `require("koffi")` costs ~10 ms, nearly all of it in koffi's JS loader (it parses the ELF
 * header of the node binary to tell glibc from musl and pulls in node:util); dlopen of the prebuilt
 * `koffi.node` itself costs ~2 ms. So we require the prebuilt binary of this platform directly (glibc first,
 * then musl), and fall back to the official entry point whenever that does not give a working module.
 */
function loadKoffi(): KoffiModule {
  // A single executable (Node SEA or Bun-compiled) carries koffi.node as an asset, and only that one is used
  // (never one found on disk). getBuiltinModule: Node >= 20.16 (engines says >= 20, so it may be missing on
  // the script path).
  const getBuiltin = process.getBuiltinModule as typeof process.getBuiltinModule | undefined;
  const sea = bunAssets() ?? (getBuiltin?.("node:sea") as SeaAssets | undefined);
  if (sea?.isSea() === true) {
    const native = loadEmbeddedAddon(sea, "koffi", addonCacheDirs(process.execPath, tmpdir(), process.geteuid?.() ?? 0));
    if (!isKoffi(native)) throw new Error("the koffi module embedded in this executable has no load()/errno()");
    return native;
  }
  const ways = requirers();
  if (process.platform === "linux") {
    const pkg = `@koromix/koffi-linux-${process.arch}`;
    for (const dir of [`linux_${process.arch}`, `musl_${process.arch}`]) {
      try {
        const native = requireAny(ways, `${pkg}/${dir}/koffi.node`);
        if (isKoffi(native)) return native;
      } catch {
        // Not installed, or the wrong libc: try the next one, then koffi's own loader.
      }
    }
  }
  const mod = requireAny(ways, "koffi");
  const k = typeof mod === "object" && mod !== null && "default" in mod ? (mod as { default: unknown }).default : mod;
  if (!isKoffi(k)) throw new Error("koffi did not load: its module has no load()/errno()");
  return k;
}

let koffi: KoffiModule | undefined;
let libc: KoffiLibrary | undefined;
const functions = new Map<string, KoffiFunction>();

function fn(declaration: string): KoffiFunction {
  let f = functions.get(declaration);
  if (f === undefined) {
    if (libc === undefined) {
      koffi ??= loadKoffi();
      // dlopen(NULL): libc is already mapped into node; no second dlopen of libc.so.6 is needed.
      libc = koffi.load(null);
    }
    f = libc.func(declaration);
    functions.set(declaration, f);
  }
  return f;
}

function lastErrno(): number {
  return (koffi as KoffiModule).errno();
}

function asNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new TypeError(`libc call returned ${typeof v}, expected a number`);
}

const EINTR = 4;

/** Calls `f`, retrying on EINTR; throws SysError(syscall) when it returns -1. */
function check(syscall: string, detail: string | undefined, call: () => unknown): number {
  for (;;) {
    const r = asNumber(call());
    if (r !== -1) return r;
    const errno = lastErrno();
    if (errno === EINTR) continue;
    throw new SysError(syscall, errno, detail);
  }
}

// --- constants (Linux, identical on x86_64 and aarch64) ---
export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const SO_PEERCRED = 17;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;
export const MSG_PEEK = 0x02;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const CLONE_NEWNET = 0x40000000;
/** ioctl on an nsfs fd: which kind of namespace it is (CLONE_NEW*), since Linux 4.11. */
export const NS_GET_NSTYPE = 0xb703;
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

// --- calls ---

export function socket(domain: number, type: number, protocol: number): number {
  return check("socket", undefined, () => fn("int socket(int, int, int)")(domain, type, protocol));
}

/** bind(2) with a raw sockaddr. */
export function bind(fd: number, addr: Uint8Array): void {
  check("bind", undefined, () => fn("int bind(int, const void *, uint32_t)")(fd, addr, addr.length));
}

/** getsockname(2) into a buffer of `size` bytes; returns the bytes the kernel filled in. */
export function getsockname(fd: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const len = new Uint32Array([size]);
  check("getsockname", undefined, () => fn("int getsockname(int, void *, void *)")(fd, out, len));
  return out.subarray(0, Math.min(size, len[0] ?? 0));
}

export function setsockopt(fd: number, level: number, name: number, value: Uint8Array, detail?: string): void {
  check("setsockopt", detail, () =>
    fn("int setsockopt(int, int, int, const void *, uint32_t)")(fd, level, name, value, value.length),
  );
}

/** send(2) of the whole buffer; returns the bytes sent. */
export function send(fd: number, data: Uint8Array, flags = 0): number {
  return check("sendto", undefined, () => fn("long send(int, const void *, size_t, int)")(fd, data, data.length, flags));
}

/**
 * recvfrom(2) into `buf`; `from` (optional) receives the sender's address. Returns the byte count, which with
 * MSG_TRUNC is the datagram's full length even when it is larger than `buf`. A receive timeout (SO_RCVTIMEO)
 * throws SysError EAGAIN.
 */
export function recvfrom(fd: number, buf: Uint8Array, flags: number, from?: Uint8Array): number {
  const fromLen = from === undefined ? null : new Uint32Array([from.length]);
  return check("recvfrom", undefined, () =>
    fn("long recvfrom(int, void *, size_t, int, void *, void *)")(fd, buf, buf.length, flags, from ?? null, fromLen),
  );
}

/** connect(2) with a raw sockaddr. */
export function connect(fd: number, addr: Uint8Array, detail?: string): void {
  check("connect", detail, () => fn("int connect(int, const void *, uint32_t)")(fd, addr, addr.length));
}

/** getsockopt(2) into a buffer of `size` bytes; returns the bytes the kernel filled in. */
export function getsockopt(fd: number, level: number, name: number, size: number, detail?: string): Uint8Array {
  const out = new Uint8Array(size);
  const len = new Uint32Array([size]);
  check("getsockopt", detail, () => fn("int getsockopt(int, int, int, void *, void *)")(fd, level, name, out, len));
  return out.subarray(0, Math.min(size, len[0] ?? 0));
}

export function close(fd: number): void {
  // No retry on EINTR: on Linux the descriptor is released even then, and a retry could close a reused fd.
  const r = asNumber(fn("int close(int)")(fd));
  if (r === -1) {
    const errno = lastErrno();
    if (errno !== EINTR) throw new SysError("close", errno);
  }
}

/** setns(2): moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number, detail?: string): void {
  check("setns", detail, () => fn("int setns(int, int)")(fd, nstype));
}

/** flock(2). With LOCK_NB, returns false when the lock is held elsewhere (EWOULDBLOCK) instead of throwing. */
export function flock(fd: number, operation: number, detail?: string): boolean {
  for (;;) {
    const r = asNumber(fn("int flock(int, int)")(fd, operation));
    if (r === 0) return true;
    const errno = lastErrno();
    if (errno === EINTR) continue;
    if (errno === 11 && (operation & LOCK_NB) !== 0) return false;
    throw new SysError("flock", errno, detail);
  }
}

/**
 * A blocking flock(2) run on a libuv pool thread: the caller's thread (and its event loop) keeps running
 * while the request waits in the kernel's queue of this file's waiters. Resolves with flock's return value:
 * 0, or -1 (errno belongs to the pool thread and cannot be read here: the caller asks again with LOCK_NB).
 * The call cannot be cancelled: whoever stops waiting must still release a lock that arrives later.
 */
export function flockAsync(fd: number, operation: number): Promise<number> {
  const f = fn("int flock(int, int)");
  return new Promise((resolve, reject) => {
    f.async(fd, operation, (err: unknown, result: unknown) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(asNumber(result));
    });
  });
}

/** ioctl(2) without an argument (e.g. NS_GET_NSTYPE); returns the call's non-negative result. */
export function ioctl(fd: number, request: number, detail?: string): number {
  return check("ioctl", detail, () => fn("int ioctl(int, unsigned long, ...)")(fd, request));
}

export function getpid(): number {
  return asNumber(fn("int getpid()")());
}

/** The calling thread's id (equals getpid() on the main thread). */
export function gettid(): number {
  return asNumber(fn("int gettid()")());
}

/**
 * A libc function bound by its C declaration, for native/ffi's files that bind their own calls (spawn.ts); koffi
 * stays loaded here only. `checked` runs one such call the way this file's own do (EINTR retried, -1 thrown).
 */
export const libcFunction = (declaration: string): ((...args: unknown[]) => unknown) => fn(declaration);
export const checked = (syscall: string, call: () => unknown): number => check(syscall, undefined, call);

/** Loads koffi and binds libc now instead of on the first call (start-up measurements, failing early). */
export function preload(): void {
  fn("int getpid()")();
}

/** True once koffi has been loaded (for tests and the bench: loading is lazy). */
export function isLoaded(): boolean {
  return koffi !== undefined;
}
