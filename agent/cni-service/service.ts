// agent/cni-service/service: the agent's CNI service. Listens on a unix socket (0600 in a 0700 directory),
// checks every connection's peer credentials (SO_PEERCRED: uid 0 only), reads one framed request (core/cni/
// wire; an unknown version is refused before the body is read), runs it in a worker thread with the plugin's
// own code, and answers with stdout's bytes, stderr's bytes and the exit code. Requests run in parallel (one
// thread each); lease allocation is serialised inside the workers. Async (node:net).

import { createServer, type Server, type Socket } from "node:net";
import {
  FRAME_KIND,
  REFUSAL,
  WIRE_HEADER_BYTES,
  WireError,
  decodeHeader,
  decodeRequestBody,
  encodeRefusal,
  encodeResult,
  type RefusalReason,
  type WireRequest,
} from "../../core/cni/wire.js";
import { currentNetns, openNetns, peerCredentials } from "../../native/index.js";
import { describeError, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { WorkerPool, type PoolAnswer } from "./pool.js";
import { listenAtomically, type BoundSocket } from "./socket-file.js";
import { CNI_METRICS as M, declareCniMetrics, recordRequest } from "./service-metrics.js";

export interface CniServiceOptions {
  readonly socketPath: string;
  /** dist/kubenet-cni-worker.js: the plugin's worker entry. */
  readonly workerScript: string;
  readonly maxWorkers: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** The agent's effective uid (the socket directory may be root's or ours). */
  readonly euid: number;
  /** How long a client may take to send its request (default 30 s). */
  readonly requestTimeoutMs?: number;
}

/**
 * Threads started ahead of demand, in the background (at most maxWorkers): kubelet starts a node's pods in
 * parallel. Each idle thread costs ~9 MB resident; more are started on demand up to maxWorkers, and stay.
 */
const WARM_WORKERS = 8;

export interface RunningCniService {
  readonly path: string;
  /** Stops serving: new clients find no socket (they run in-process), accepted requests finish. */
  close(): Promise<void>;
}

/** The fd behind an accepted connection (node:net keeps it on the handle; there is no public accessor). */
function fdOf(sock: Socket): number | undefined {
  const handle = (sock as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === "number" && handle.fd >= 0 ? handle.fd : undefined;
}

/**
 * The caller's network namespace as a path, when it differs from ours (a runtime in another namespace, a test
 * harness): the request runs there, as the executable would. Undefined when it is ours or cannot be seen
 * (pid 0: the caller is outside our pid namespace, as a runtime is for an agent pod without hostPID).
 */
function callerNetns(pid: number): string | undefined {
  if (pid <= 0) return undefined;
  const path = `/proc/${pid}/ns/net`;
  let theirs;
  try {
    theirs = openNetns(path);
  } catch {
    return undefined;
  }
  const ours = currentNetns();
  try {
    return theirs.inode === ours.inode && theirs.dev === ours.dev ? undefined : path;
  } finally {
    theirs.close();
    ours.close();
  }
}

function refuse(sock: Socket, metrics: Metrics, reason: RefusalReason, message: string): void {
  metrics.inc(M.refused[0], M.refused[1], { reason: String(reason) });
  sock.end(encodeRefusal(reason, message));
}

function answerBytes(a: PoolAnswer): Uint8Array {
  if (a.kind === "not-run") return encodeRefusal(REFUSAL.SHUTTING_DOWN, a.reason);
  if (a.kind === "lost") {
    // No result frame: the client reports CNI code 11 with this reason (it must not run the request again).
    return new Uint8Array();
  }
  const enc = new TextEncoder();
  return encodeResult({ exitCode: a.exitCode, stdout: enc.encode(a.stdout), stderr: enc.encode(a.stderr) });
}

function serveConnection(sock: Socket, opts: CniServiceOptions, pool: WorkerPool, closing: () => boolean): void {
  const { metrics, log } = opts;
  sock.on("error", () => {}); // a client that went away: nothing to answer
  const fd = fdOf(sock);
  let cred;
  try {
    if (fd === undefined) throw new Error("no file descriptor on the connection");
    cred = peerCredentials(fd);
  } catch (e) {
    log.warn("CNI service: cannot read the peer's credentials; refusing", { error: describeError(e) });
    refuse(sock, metrics, REFUSAL.PEER, "the service could not read the peer's credentials (SO_PEERCRED)");
    return;
  }
  if (cred.uid !== 0) {
    log.warn("CNI service: refused a peer that is not root", { uid: cred.uid, pid: cred.pid });
    refuse(sock, metrics, REFUSAL.PEER, `peer uid ${cred.uid} (pid ${cred.pid}) is not root: the CNI service answers uid 0 only`);
    return;
  }
  // Read now, while the caller is certainly alive and connected (it waits for our answer from here on).
  const netnsPath = callerNetns(cred.pid);
  const chunks: Buffer[] = [];
  let have = 0;
  let need: number | undefined;
  let done = false;
  const timer = setTimeout(() => sock.destroy(), opts.requestTimeoutMs ?? 30_000);
  timer.unref();
  sock.on("close", () => clearTimeout(timer));
  sock.on("data", (chunk: Buffer) => {
    if (done) return;
    chunks.push(chunk);
    have += chunk.length;
    const buf = chunks.length === 1 ? chunk : Buffer.concat(chunks);
    try {
      if (need === undefined && have >= WIRE_HEADER_BYTES) {
        const h = decodeHeader(buf); // refuses an unknown version before the body is read
        if (h.kind !== FRAME_KIND.REQUEST) throw new WireError(REFUSAL.MALFORMED, `frame kind ${h.kind} is not a request`);
        need = WIRE_HEADER_BYTES + h.bodyLength;
      }
      if (need === undefined || have < need) return;
      if (have > need) throw new WireError(REFUSAL.MALFORMED, `${have - need} bytes after the request`);
      done = true;
      clearTimeout(timer);
      const req = decodeRequestBody(buf.subarray(WIRE_HEADER_BYTES));
      if (closing()) {
        refuse(sock, metrics, REFUSAL.SHUTTING_DOWN, "the service is shutting down");
        return;
      }
      void runRequest(sock, { ...req, netnsPath }, opts, pool);
    } catch (e) {
      done = true;
      clearTimeout(timer);
      if (!(e instanceof WireError)) throw e;
      log.warn("CNI service: refused a request", { reason: e.refusal, error: e.message });
      refuse(sock, metrics, e.refusal, e.message);
    }
  });
}

async function runRequest(sock: Socket, req: WireRequest & { readonly netnsPath: string | undefined }, opts: CniServiceOptions, pool: WorkerPool): Promise<void> {
  const { metrics } = opts;
  const command = req.env.find(([k]) => k === "CNI_COMMAND")?.[1] ?? "";
  const started = process.hrtime.bigint();
  metrics.set(M.inFlight[0], M.inFlight[1], metrics.get(M.inFlight[0]) + 1);
  let answer: PoolAnswer;
  try {
    answer = await pool.run(req);
  } finally {
    metrics.set(M.inFlight[0], M.inFlight[1], metrics.get(M.inFlight[0]) - 1);
    metrics.set(M.workers[0], M.workers[1], pool.size);
  }
  recordRequest(metrics, command, answer, Number(process.hrtime.bigint() - started) / 1e9);
  const bytes = answerBytes(answer);
  if (bytes.length === 0) sock.destroy();
  else sock.end(bytes);
}

export async function startCniService(opts: CniServiceOptions): Promise<RunningCniService> {
  declareCniMetrics(opts.metrics);
  const pool = new WorkerPool(opts.workerScript, opts.maxWorkers, opts.log);
  let closing = false;
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => serveConnection(sock, opts, pool, () => closing));
  let bound: BoundSocket;
  try {
    bound = await listenAtomically(server, opts.socketPath, opts.euid);
  } catch (e) {
    await pool.close();
    throw e;
  }
  try {
    pool.prewarm(1); // a worker script that cannot start fails here, not at the first pod
  } catch (e) {
    bound.unlinkIfOurs();
    server.close();
    await pool.close();
    throw e;
  }
  pool.warmUp(WARM_WORKERS, () => opts.metrics.set(M.workers[0], M.workers[1], pool.size));
  return {
    path: opts.socketPath,
    async close() {
      // New clients find no socket and run in-process; those already queued in the backlog are still served.
      bound.unlinkIfOurs();
      await new Promise((r) => setTimeout(r, 100));
      closing = true;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}
