// plugin/service-worker: the thread entry the agent's CNI service runs requests in (bundled by itself to
// dist/kubenet-cni-worker.js; the agent starts it by path and never imports plugin/). One request at a time
// per thread: the SAME skel and commands as the executable, with the request's env table and stdin instead of
// the process's, stdout and stderr captured, the exit code returned. A thread has its own network namespace
// (setns is per thread), so a slow veth delete in one thread never holds up an ADD in another.
// Lease directories: a first-come-first-served lock shared by all threads (workerData.leaseGate), then the
// directory's flock as always, so the reference host-local and the in-process plugin stay safe beside it.

import { appendFileSync } from "node:fs";
import { parentPort, threadId, workerData } from "node:worker_threads";
import {
  LockTimeoutError,
  monotonicMs,
  moveThreadToNetns,
  openNetns,
  openTicketLock,
  waitFileLock,
  type FileLock,
  type FileLockOptions,
  type NetnsHandle,
} from "../native/index.js";
import { skelMain, type SkelIo } from "./skel.js";
import { loadCommands } from "./load-commands.js";

/** What the agent posts: one CNI request (the wire request, decoded). */
export interface WorkerRequest {
  readonly id: number;
  readonly invokedAs: string;
  readonly env: readonly (readonly [string, string])[];
  readonly stdin: Uint8Array;
  /**
   * The caller's network namespace (/proc/PID/ns/net) when it is not the agent's: the request runs there, as
   * the executable would have run in its own namespace. Absent: the agent's namespace (the usual case).
   */
  readonly netnsPath?: string;
}

/** What the thread answers. */
export interface WorkerAnswer {
  readonly id: number;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The lease lock of this thread: the process-wide gate, then the flock. `heldFd` (one Int32 cell the agent
 * reads when the thread dies) holds the locked descriptor while it is held, -1 otherwise: descriptors belong
 * to the process, so a thread that died holding the flock would keep it for the agent's lifetime.
 */
function leaseLocker(gateBuffer: SharedArrayBuffer, heldFd: Int32Array | undefined): (path: string, options: FileLockOptions) => Promise<FileLock> {
  const gate = openTicketLock(gateBuffer, threadId);
  return async (path, options) => {
    // One deadline for both waits: the request's lockTimeoutMs bounds its whole wait, however many threads
    // queue before it (a gate without one let the k-th thread wait k lock timeouts behind a foreign holder).
    const asked = monotonicMs();
    if (!gate.acquire(options.timeoutMs)) throw new LockTimeoutError(path, options.timeoutMs);
    let lock: FileLock;
    try {
      // Then the directory's flock, waited for in the kernel's queue (fair against other processes too). Only
      // the gate's holder waits there, so at most one pool thread of the process blocks in flock.
      const left = Math.max(0, options.timeoutMs - (monotonicMs() - asked));
      lock = await waitFileLock(path, { ...options, timeoutMs: left });
    } catch (e) {
      gate.release();
      throw e instanceof LockTimeoutError ? new LockTimeoutError(path, options.timeoutMs) : e;
    }
    if (heldFd !== undefined) Atomics.store(heldFd, 0, lock.fd);
    return {
      path: lock.path,
      fd: lock.fd,
      get released() {
        return lock.released;
      },
      release() {
        if (lock.released) return;
        // Forgotten before the close: the agent must never close a number the process has reused.
        if (heldFd !== undefined) Atomics.store(heldFd, 0, -1);
        try {
          lock.release();
        } finally {
          gate.release();
        }
      },
    };
  };
}

async function run(req: WorkerRequest, locker: SkelIo["leaseLocker"]): Promise<WorkerAnswer> {
  const env: Record<string, string> = {};
  for (const [k, v] of req.env) env[k] = v;
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: SkelIo = {
    invokedAs: req.invokedAs,
    env,
    readStdin: () => Buffer.from(req.stdin.buffer, req.stdin.byteOffset, req.stdin.byteLength),
    writeStdout: (text) => stdout.push(text),
    writeStderr: (text) => stderr.push(text),
    appendLog: (path, text) => appendFileSync(path, text, { mode: 0o600 }),
    loadCommands,
    leaseLocker: locker,
  };
  let home: NetnsHandle | undefined;
  if (req.netnsPath !== undefined) {
    const target = openNetns(req.netnsPath);
    try {
      home = moveThreadToNetns(target);
    } finally {
      target.close();
    }
  }
  try {
    const exitCode = await skelMain(io);
    return { id: req.id, exitCode, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    if (home !== undefined) {
      // Back home, or this thread must not serve another request: the error ends the thread (uncaught
      // below), and the agent answers the request as lost (code 11) rather than trust a stranded thread.
      try {
        moveThreadToNetns(home).close();
      } finally {
        home.close();
      }
    }
  }
}

const port = parentPort;
if (port === null) throw new Error("kubenet-cni-worker runs only as a worker thread of kubenet-agent");
const data = workerData as { leaseGate?: unknown; leaseFd?: unknown } | undefined;
if (!(data?.leaseGate instanceof SharedArrayBuffer)) throw new Error("kubenet-cni-worker needs workerData.leaseGate (a SharedArrayBuffer)");
const locker = leaseLocker(data.leaseGate, data.leaseFd instanceof SharedArrayBuffer ? new Int32Array(data.leaseFd) : undefined);
port.on("message", (req: WorkerRequest) => {
  run(req, locker).then(
    (answer) => port.postMessage(answer),
    (e: unknown) => {
      // skelMain never throws; this is the last line of defence (the agent answers code 11 for it).
      throw e;
    },
  );
});
