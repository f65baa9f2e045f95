// native/ffi/spawn: a child process through posix_spawn(3) with its stdin, stdout and stderr on pipes. Node's
// child_process forks (libuv's uv_spawn: fork, then exec), which copies the page tables of the whole process
// and then takes a copy-on-write fault for every page either side touches until the child execs: in the agent
// (a large multi-threaded Node process) that costs 10-40 ms of CPU and several times that in wall time per
// iptables run under load. glibc's posix_spawn clones with CLONE_VM|CLONE_VFORK: nothing is copied.
// Synchronous (the spawn and a WNOHANG reap); the caller does the I/O on the returned descriptors.

import { accessSync, constants, statSync } from "node:fs";
import { SysError } from "./sys-error.js";
import { checked, close, libcFunction } from "./libc.js";

/** The parent's ends of the child's stdio pipes (O_CLOEXEC, blocking: the caller's streams set their mode). */
export interface SpawnedChild {
  readonly pid: number;
  readonly stdin: number;
  readonly stdout: number;
  readonly stderr: number;
}

const O_CLOEXEC = 0o2000000;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const WNOHANG = 1;
// posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336 on glibc and musl (x86_64, aarch64), a
// sigset_t 128: allocated larger, as the C library only ever writes inside its own size.
const FILE_ACTIONS_BYTES = 256;
const ATTR_BYTES = 512;
const SIGSET_BYTES = 128;

function pipe(): [number, number] {
  const fds = new Int32Array(2);
  checked("pipe2", () => libcFunction("int pipe2(void *, int)")(fds, O_CLOEXEC));
  return [fds[0] ?? -1, fds[1] ?? -1];
}

/** posix_spawn*'s calls return the error number itself (0 = done). */
function must(call: string, r: unknown): void {
  if (r !== 0) throw new SysError(call, Number(r));
}

/**
 * The attributes every child gets: all signals at their default action (Node ignores SIGPIPE, which exec would
 * otherwise pass on) and none blocked (the calling thread's mask would be inherited).
 */
function withAttr<T>(body: (attr: Uint8Array) => T): T {
  const attr = new Uint8Array(ATTR_BYTES);
  must("posix_spawnattr_init", libcFunction("int posix_spawnattr_init(void *)")(attr));
  try {
    const all = new Uint8Array(SIGSET_BYTES);
    const none = new Uint8Array(SIGSET_BYTES);
    libcFunction("int sigfillset(void *)")(all);
    libcFunction("int sigemptyset(void *)")(none);
    must("posix_spawnattr_setsigdefault", libcFunction("int posix_spawnattr_setsigdefault(void *, void *)")(attr, all));
    must("posix_spawnattr_setsigmask", libcFunction("int posix_spawnattr_setsigmask(void *, void *)")(attr, none));
    must("posix_spawnattr_setflags", libcFunction("int posix_spawnattr_setflags(void *, short)")(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
    return body(attr);
  } finally {
    libcFunction("int posix_spawnattr_destroy(void *)")(attr);
  }
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const ENOENT = 2;

/**
 * `file` looked up in the child's PATH (as node:child_process does; posix_spawnp would search this process's):
 * the first executable regular file, or `file` itself when it holds a slash. @throws SysError ENOENT
 */
function resolveProgram(file: string, path: string | undefined): string {
  if (file.includes("/")) return file;
  for (const dir of (path ?? DEFAULT_PATH).split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${file}`;
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here, or not executable: the next directory, as execvp
    }
  }
  throw new SysError("posix_spawn", ENOENT, `${file} in PATH ${path ?? DEFAULT_PATH}`);
}

/**
 * Starts `file` (looked up in env's PATH, as execvp) with `argv` (argv[0] included) and `env`, its stdio on
 * three pipes. @throws SysError (code ENOENT when the program is not found; nothing is left open then)
 */
export function spawnPiped(file: string, argv: readonly string[], env: Readonly<Record<string, string>>): SpawnedChild {
  const program = resolveProgram(file, env["PATH"]);
  const opened: number[] = [];
  const pair = (): [number, number] => {
    const p = pipe();
    opened.push(...p);
    return p;
  };
  let child: SpawnedChild;
  try {
    const [inR, inW] = pair();
    const [outR, outW] = pair();
    const [errR, errW] = pair();
    const pid = new Int32Array(1);
    const fa = new Uint8Array(FILE_ACTIONS_BYTES);
    must("posix_spawn_file_actions_init", libcFunction("int posix_spawn_file_actions_init(void *)")(fa));
    try {
      const dup2 = libcFunction("int posix_spawn_file_actions_adddup2(void *, int, int)");
      must("posix_spawn_file_actions_adddup2", dup2(fa, inR, 0));
      must("posix_spawn_file_actions_adddup2", dup2(fa, outW, 1));
      must("posix_spawn_file_actions_adddup2", dup2(fa, errW, 2));
      const envp = [...Object.entries(env).map(([k, v]) => `${k}=${v}`), null];
      const spawn = libcFunction("int posix_spawn(void *, const char *, void *, void *, const char **, const char **)");
      withAttr((attr) => must("posix_spawn", spawn(pid, program, fa, attr, [...argv, null], envp)));
    } finally {
      libcFunction("int posix_spawn_file_actions_destroy(void *)")(fa);
    }
    child = { pid: pid[0] ?? -1, stdin: inW, stdout: outR, stderr: errR };
  } catch (err) {
    for (const fd of opened) close(fd);
    throw err;
  }
  // The child's ends: it has its own copies now.
  for (const fd of opened) if (fd !== child.stdin && fd !== child.stdout && fd !== child.stderr) close(fd);
  return child;
}

/** waitpid(pid, WNOHANG): the exit status or terminating signal once the child has ended, else undefined. */
export function reapNoHang(pid: number): { status: number | null; signal: number | null } | undefined {
  const st = new Int32Array(1);
  const r = checked("waitpid", () => libcFunction("int waitpid(int, void *, int)")(pid, st, WNOHANG));
  if (r === 0) return undefined;
  const w = st[0] ?? 0;
  const sig = w & 0x7f;
  return sig === 0 ? { status: (w >> 8) & 0xff, signal: null } : { status: null, signal: sig };
}
