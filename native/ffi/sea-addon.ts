// native/ffi/sea-addon: loads a native module (.node) that a single-executable build (Node SEA) carries as an
// asset. Node cannot dlopen from inside its own executable, so the bytes go to a cache file, written once per
// version, and are dlopen'd from there. Imports node builtins only. Synchronous. Used by ./libc.ts (koffi).
// The same code serves a Bun-compiled executable (scripts/build.mjs): Bun can load an embedded .node itself,
// but it unpacks it to a predictable name in /tmp that another user could plant first; we never let it.
//
// What gets loaded is always the inode that was checked: the file is opened, fstat'ed (a regular file owned
// by root or by us, not writable by group or others), compared byte for byte with the asset, and then
// dlopen'd through /proc/self/fd/N, so nobody can swap the file between the check and the load. A missing,
// wrong or unsafe file is replaced atomically (written under a temp name with O_EXCL, then renamed over it).
// A cache directory that is not ours (or root's) or is writable by others is never used.

import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

/** The part of `node:sea` used here (Node >= 20.12); also what a Bun executable offers through {@link bunAssets}. */
export interface SeaAssets {
  isSea(): boolean;
  getRawAsset(key: string): string | ArrayBuffer | Uint8Array;
}

/**
 * What a Bun-compiled executable embeds (scripts/build.mjs defines it with `--define`, so the identifier exists
 * only inside such an executable): the virtual directory of its embedded files ("/$bunfs/root") and the
 * manifest (JSON text) that names the native modules' files there.
 */
declare const KUBENET_BUN_EMBEDDED: { readonly dir: string; readonly manifest: string } | undefined;

/** The embedded files of this Bun-compiled executable, read like SEA assets; undefined anywhere else. */
export function bunAssets(): SeaAssets | undefined {
  if (typeof KUBENET_BUN_EMBEDDED !== "object") return undefined;
  const { dir, manifest } = KUBENET_BUN_EMBEDDED;
  // Bun's fs reads the executable's own embedded files under this virtual directory (no disk I/O).
  return { isSea: () => true, getRawAsset: (key) => (key === SEA_NATIVE_MANIFEST ? manifest : readFileSync(join(dir, key))) };
}

function rawBytes(raw: string | ArrayBuffer | Uint8Array): Uint8Array {
  if (typeof raw === "string") return Buffer.from(raw, "utf8");
  return raw instanceof Uint8Array ? raw : new Uint8Array(raw);
}

/** A name no other writer picks (O_EXCL still refuses a clash): pid + the monotonic clock, no node:crypto at start-up. */
function uniqueSuffix(): string {
  return `${process.pid}.${process.hrtime.bigint().toString(36)}`;
}

/** The asset that maps a module name to its asset key (which carries a hash of the bytes), written by scripts/build-sea.mjs. */
export const SEA_NATIVE_MANIFEST = "kubenet-native.json";

/**
 * Where the cache may live, best first. Beside the executable: that file system allows exec (we run from it)
 * and the directory is as trusted as the executable itself; /run (tmpfs) is noexec on Debian/Ubuntu, /tmp often
 * under hardening guides. The temp directory (per uid) is the fallback for a read-only install.
 */
export function addonCacheDirs(execPath: string, tmpDir: string, uid: number): string[] {
  return [join(dirname(execPath), ".kubenet-native"), join(tmpDir, `kubenet-native-${uid}`)];
}

/** Group or others may write. */
const GO_WRITE = 0o022;

function isTrustedOwner(uid: number): boolean {
  return uid === 0 || uid === (process.geteuid?.() ?? -1);
}

/** Creates `dir` (0700) if missing; throws unless it is a real directory owned by root or us that only its owner may write. */
function ensureSafeDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory (a symlink?): not used for the native module cache`);
  if (!isTrustedOwner(st.uid) || (st.mode & GO_WRITE) !== 0) {
    throw new Error(`${dir} is owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8)}: not used for the native module cache (it must be root's or ours and not group/world-writable)`);
  }
}

/** True when the open file `fd` is safe to load and holds exactly `bytes`. */
function holds(fd: number, bytes: Uint8Array): boolean {
  const st = fstatSync(fd);
  if (!st.isFile() || !isTrustedOwner(st.uid) || (st.mode & GO_WRITE) !== 0 || st.size !== bytes.length) return false;
  // Chunks into a small buffer: cheaper than reading the whole file into a fresh allocation (~0.2 vs ~0.6 ms for 1 MB).
  const chunk = Buffer.allocUnsafe(Math.min(256 * 1024, Math.max(1, bytes.length)));
  let off = 0;
  while (off < bytes.length) {
    const n = readSync(fd, chunk, 0, Math.min(chunk.length, bytes.length - off), off);
    if (n <= 0 || Buffer.compare(chunk.subarray(0, n), bytes.subarray(off, off + n)) !== 0) return false;
    off += n;
  }
  return true;
}

/**
 * Returns a read-only descriptor of `dir/name` holding exactly `bytes`: the existing file when it checks out,
 * otherwise a freshly written one (0600) renamed over it. The caller closes it.
 * @throws when the directory is unsafe or cannot be written
 */
export function openCachedAddon(dir: string, name: string, bytes: Uint8Array): number {
  ensureSafeDir(dir);
  const path = join(dir, name);
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    if (holds(fd, bytes)) return fd;
    closeSync(fd); // wrong content, owner or mode: replaced below, never loaded
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ELOOP") throw e;
  }
  const tmp = join(dir, `.${name}.${uniqueSuffix()}`);
  const fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    renameSync(tmp, path);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  // No fsync: after a crash a torn file fails the byte comparison and is rewritten.
  return fd; // the inode just written, whatever happens to the name from now on
}

/** process.dlopen of an open file (through /proc/self/fd: the checked inode, not a path that could change). */
function dlopenFd(fd: number): unknown {
  const mod = { exports: {} as unknown };
  process.dlopen(mod, `/proc/self/fd/${fd}`);
  return mod.exports;
}

/**
 * Loads the native module `name` (e.g. "koffi") embedded in this single executable: through the first cache
 * directory that works (a noexec mount fails the dlopen and the next one is tried).
 * @throws with every directory's reason when none works, or when the executable does not carry the module
 */
export function loadEmbeddedAddon(sea: SeaAssets, name: string, dirs: readonly string[], dlopen: (fd: number) => unknown = dlopenFd): unknown {
  const manifest = JSON.parse(new TextDecoder().decode(rawBytes(sea.getRawAsset(SEA_NATIVE_MANIFEST)))) as Record<string, unknown>;
  const key = manifest[name];
  if (typeof key !== "string") throw new Error(`this executable does not carry the native module ${name}; rebuild it with scripts/build-sea.mjs`);
  const bytes = rawBytes(sea.getRawAsset(key));
  const failures: string[] = [];
  for (const dir of dirs) {
    let fd: number;
    try {
      fd = openCachedAddon(dir, key, bytes);
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
      continue;
    }
    try {
      return dlopen(fd);
    } catch (e) {
      failures.push(`dlopen ${join(dir, key)}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      closeSync(fd);
    }
  }
  throw new Error(`cannot load the native module ${name} embedded in ${process.execPath}: ${failures.join("; ")}`);
}
