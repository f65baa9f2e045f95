// plugin/ipam/disk-store: host-local's lease directory, byte-compatible (reference §3.4):
//   <dataDir>/<network>/            0755
//     lock                          0750, flock(LOCK_EX) around every lease operation
//     last_reserved_ip.<n>          0600, the IP text, no newline
//     <ip>                          0600, "<containerID>\r\n<ifname>", name = canonical IP text
//     kubenet-boot-id               0600, our addition (reclaimAfterReboot): the boot the leases belong to
// Differences on purpose: a lease appears atomically (never empty), and last_reserved_ip is replaced
// atomically. Imports node:fs, core/ and native/index.ts (flock). Synchronous.

import {
  closeSync,
  statSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
  constants,
} from "node:fs";
import { join } from "node:path";
import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import { formatIp, type IpAddr } from "../../core/ip.js";
import { tryParseIp } from "../../core/ip-parse.js";
import { waitFileLock, type FileLock, type FileLockOptions } from "../../native/index.js";
import { BOOT_ID_FILE, parseBootId } from "./boot-id.js";
import { decodeLeaseContent, encodeLeaseOwner, type Lease, type LeaseContent, type LeaseOwner, type LeaseStore } from "./store.js";

const LOCK_FILE = "lock";
const LAST_RESERVED_PREFIX = "last_reserved_ip.";
/** Temp files start with "." so no IP parser (ours or host-local's) mistakes them for a lease. */
const TEMP_PREFIX = ".kubenet-tmp-";

/** Takes the lease lock; may be synchronous (a test) or wait (waitFileLock, the agent service's queue + it). */
export type Locker = (path: string, options: FileLockOptions) => FileLock | Promise<FileLock>;

export interface DiskStoreOptions {
  readonly dataDir: string;
  readonly network: string;
  readonly lockTimeoutMs: number;
  /** Injected in tests; default: native flock. */
  readonly locker?: Locker;
}

function errnoOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : undefined;
}

function storeError(what: string, path: string, e: unknown): CniError {
  const why = e instanceof Error ? e.message : String(e);
  return new CniError(CNI_ERROR_CODE.IPAM_STORE_FAILURE, `IPAM lease store: ${what} ${q(path)} failed: ${why}`, {
    details: errnoOf(e) === undefined ? undefined : `errno=${errnoOf(e)}`,
    cause: e,
  });
}

let tempCounter = 0;
/**
 * pid + a tag drawn once per module instance: the agent's CNI service runs this module in several threads of
 * one process, each with its own counter, and their temp names must not collide (sweeps read the pid).
 */
const TEMP_TAG = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

export class DiskStore implements LeaseStore {
  readonly dir: string;
  private readonly lockTimeoutMs: number;
  private readonly locker: Locker;
  private held: FileLock | undefined;
  /** Staged temp files (lease content written and fsync'd) by owner, consumed by reserve(). */
  private readonly staged = new Map<string, string[]>();

  /** `network` must already be validated (netconf's name grammar: no "/", no leading "."). */
  constructor(options: DiskStoreOptions) {
    this.dir = join(options.dataDir, options.network);
    this.lockTimeoutMs = options.lockTimeoutMs;
    this.locker = options.locker ?? waitFileLock;
  }

  private ensureDir(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw storeError("creating the lease directory", this.dir, e);
    }
  }

  /**
   * Waits for the directory's lock (fair: see waitFileLock), then runs `fn` synchronously and releases it:
   * the lock is never held across an await. Every call opens the lock file anew, so two stores (two requests
   * in one process, or in worker threads) exclude each other like two processes do.
   */
  async withLock<T>(fn: () => T): Promise<T> {
    if (this.held) return fn(); // re-entrant within one store
    this.ensureDir();
    const lockPath = join(this.dir, LOCK_FILE);
    // LockTimeoutError propagates: skel maps it to code 11 (try again later).
    this.held = await this.locker(lockPath, { timeoutMs: this.lockTimeoutMs, mode: 0o750 });
    try {
      return fn();
    } finally {
      const lock = this.held;
      this.held = undefined;
      lock.release();
    }
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch (e) {
      if (errnoOf(e) === "ENOENT") return [];
      throw storeError("listing", this.dir, e);
    }
  }

  /** The content of lease `name`, or undefined when it is gone (released meanwhile) or a directory. */
  private readLease(name: string): LeaseContent | undefined {
    try {
      return decodeLeaseContent(readFileSync(join(this.dir, name), "utf8"));
    } catch (e) {
      if (errnoOf(e) === "ENOENT" || errnoOf(e) === "EISDIR") return undefined;
      throw storeError("reading lease", join(this.dir, name), e);
    }
  }

  leases(): Lease[] {
    return this.leasesSince(new Map());
  }

  scan(): ReadonlyMap<string, LeaseContent> {
    const out = new Map<string, LeaseContent>();
    for (const name of this.names()) {
      if (leaseIp(name) === undefined) continue;
      const content = this.readLease(name);
      if (content !== undefined) out.set(name, content);
    }
    return out;
  }

  leasesSince(seen: ReadonlyMap<string, LeaseContent>): Lease[] {
    const out: Lease[] = [];
    for (const name of this.names()) {
      const ip = leaseIp(name);
      if (ip === undefined) continue;
      const content = seen.get(name) ?? this.readLease(name);
      if (content !== undefined) out.push({ ip, content });
    }
    return out;
  }

  snapshot(): IpAddr[] {
    const out: IpAddr[] = [];
    for (const name of this.names()) {
      const ip = tryParseIp(name);
      if (ip !== undefined && formatIp(ip) === name) out.push(ip);
    }
    return out;
  }

  /** Writes `data` to a fresh temp file in the lease directory (0600, fsync'd) and returns its path. */
  private writeTemp(data: string): string {
    const tmp = join(this.dir, `${TEMP_PREFIX}${TEMP_TAG}-${++tempCounter}`);
    let fd: number;
    try {
      fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (e) {
      throw storeError("creating", tmp, e);
    }
    try {
      const buf = Buffer.from(data);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off);
      // Without fsync, a crash after link() can leave a named but empty file (delayed allocation).
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      unlinkQuietly(tmp);
      throw storeError("writing", tmp, e);
    }
    closeSync(fd);
    return tmp;
  }

  stage(owner: LeaseOwner, count: number): void {
    this.ensureDir();
    const content = encodeLeaseOwner(owner);
    const list = this.staged.get(content) ?? [];
    while (list.length < count) list.push(this.writeTemp(content));
    this.staged.set(content, list);
  }

  unstage(): void {
    for (const list of this.staged.values()) list.forEach(unlinkQuietly);
    this.staged.clear();
  }

  /**
   * Reserving = link(temp, <ip>). link() never replaces an existing name and fails with EEXIST, so the
   * reservation is exclusive exactly like host-local's O_CREAT|O_EXCL, and the name only ever appears
   * with its full, fsync'd content (a crash leaves at most a temp file, which sweepTemporaries/GC remove).
   * rename() would not do: it silently replaces an existing lease. The temp file is normally staged before
   * the lock is taken (stage()), so the critical section does no fsync.
   */
  reserve(owner: LeaseOwner, ip: IpAddr, rangeSetIndex: number): boolean {
    const target = join(this.dir, formatIp(ip));
    const content = encodeLeaseOwner(owner);
    const list = this.staged.get(content);
    const tmp = list?.[0] ?? this.writeTemp(content);
    const staged = list?.[0] === tmp;
    try {
      linkSync(tmp, target);
    } catch (e) {
      if (!staged) unlinkQuietly(tmp);
      if (errnoOf(e) === "EEXIST") return false; // taken; a staged temp stays for the next candidate
      throw storeError("creating lease", target, e);
    }
    // The lease now holds the inode; drop the temp name so the lease has a single link.
    if (staged) list!.shift();
    unlinkQuietly(tmp);
    try {
      this.writeLastReserved(ip, rangeSetIndex);
    } catch (e) {
      unlinkQuietly(target); // as host-local: a reservation that could not be recorded is undone
      throw e;
    }
    return true;
  }

  private writeLastReserved(ip: IpAddr, rangeSetIndex: number): void {
    this.replaceFile(`${LAST_RESERVED_PREFIX}${rangeSetIndex}`, formatIp(ip));
  }

  /** Writes `name` through a temp file and rename(): readers see the old or the new content, never "". */
  private replaceFile(name: string, data: string): void {
    const target = join(this.dir, name);
    const tmp = join(this.dir, `${TEMP_PREFIX}${TEMP_TAG}-${++tempCounter}`);
    try {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        writeSync(fd, data);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, target);
    } catch (e) {
      unlinkQuietly(tmp);
      throw storeError("recording", target, e);
    }
  }

  recordedBootId(): string | undefined {
    try {
      return parseBootId(readFileSync(join(this.dir, BOOT_ID_FILE), "utf8"));
    } catch {
      return undefined; // missing or unreadable: unknown, never a reason to release anything
    }
  }

  recordBootId(bootId: string): void {
    this.replaceFile(BOOT_ID_FILE, bootId);
  }

  lastReservedIp(rangeSetIndex: number): IpAddr | undefined {
    try {
      return tryParseIp(readFileSync(join(this.dir, `${LAST_RESERVED_PREFIX}${rangeSetIndex}`), "utf8").trim());
    } catch {
      return undefined; // missing or unreadable: start from the first range (host-local logs and does so)
    }
  }

  restoreLastReserved(rangeSetIndex: number, previous: IpAddr | undefined): void {
    if (previous !== undefined) this.writeLastReserved(previous, rangeSetIndex);
    else unlinkQuietly(join(this.dir, `${LAST_RESERVED_PREFIX}${rangeSetIndex}`));
  }

  release(ip: IpAddr): void {
    const path = join(this.dir, formatIp(ip));
    try {
      unlinkSync(path);
    } catch (e) {
      if (errnoOf(e) !== "ENOENT") throw storeError("removing lease", path, e);
    }
  }

  sweepTemporaries(): number {
    let n = 0;
    for (const name of this.names()) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      // Temp files are staged outside the lock: only those of dead processes (or very old ones) are litter.
      const pid = Number(/^(\d+)-/.exec(name.slice(TEMP_PREFIX.length))?.[1] ?? "0");
      const path = join(this.dir, name);
      if (pid === process.pid || (pidAlive(pid) && !olderThan(path, STALE_TEMP_MS))) continue;
      unlinkQuietly(path);
      n++;
    }
    return n;
  }
}

/** The IP a directory entry names, when it is a lease: the canonical text of an IP, as host-local writes it. */
export function leaseIp(name: string): IpAddr | undefined {
  const ip = tryParseIp(name);
  return ip !== undefined && formatIp(ip) === name ? ip : undefined;
}

/** A staged temp file older than this is litter even if its pid is alive (pid reuse). */
const STALE_TEMP_MS = 10 * 60_000;

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === "EPERM";
  }
}

function olderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
