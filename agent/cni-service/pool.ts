// agent/cni-service/pool: worker threads that run CNI requests with the plugin's own code (the worker bundle,
// started by path: the agent never imports plugin/). One request per thread at a time; threads are started on
// demand up to `max` and kept warm. A thread that dies mid-request answers "lost" (the client turns that into
// CNI code 11) and frees the in-process lease lock if it held it. Async (worker_threads).

import { closeSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { createTicketLockBuffer, releaseTicketLockOf } from "../../native/index.js";
import type { Logger } from "../log.js";

/** A request as the worker takes it (plugin/service-worker.ts WorkerRequest). */
export interface PoolRequest {
  readonly invokedAs: string;
  readonly env: readonly (readonly [string, string])[];
  readonly stdin: Uint8Array;
  /** Run in this network namespace (the caller's, when it is not the agent's). */
  readonly netnsPath?: string | undefined;
}

export type PoolAnswer =
  | { readonly kind: "done"; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  | { readonly kind: "lost"; readonly reason: string }
  /** The request never reached a thread (shutting down): the client may run it itself. */
  | { readonly kind: "not-run"; readonly reason: string };

interface Slot {
  readonly worker: Worker;
  /** The descriptor of the lease flock the thread holds, -1 when none (written by the thread). */
  readonly leaseFd: Int32Array;
  busy: { readonly id: number; readonly resolve: (a: PoolAnswer) => void } | undefined;
}

export class WorkerPool {
  readonly #script: string;
  readonly #max: number;
  readonly #log: Logger;
  readonly #gate = createTicketLockBuffer();
  readonly #slots = new Set<Slot>();
  readonly #queue: { readonly req: PoolRequest; readonly resolve: (a: PoolAnswer) => void }[] = [];
  #nextId = 1;
  #closed = false;

  constructor(script: string, max: number, log: Logger) {
    this.#script = script;
    this.#max = max;
    this.#log = log;
  }

  /** Threads running now. */
  get size(): number {
    return this.#slots.size;
  }

  /** Starts `n` threads ahead of the first request (loading the bundle and koffi takes tens of ms). */
  prewarm(n: number): void {
    for (let i = this.#slots.size; i < Math.min(n, this.#max); i++) this.#spawn();
  }

  /**
   * Grows the pool to `n` threads in the background, one at a time (each once the previous is up), so the first
   * burst of pods after a start does not pay for starting threads: measured, 8 parallel ADDs on a fresh pool
   * cost 75 ms of agent CPU each against 15 ms on a warm one. One at a time: the agent's start stays light.
   */
  warmUp(n: number, onOnline: () => void = () => {}): void {
    const next = (): void => {
      onOnline();
      if (this.#closed || this.#slots.size >= Math.min(n, this.#max)) return;
      this.#spawn().worker.once("online", next);
    };
    next();
  }

  run(req: PoolRequest): Promise<PoolAnswer> {
    if (this.#closed) return Promise.resolve({ kind: "not-run", reason: "the service is shutting down" });
    return new Promise((resolve) => {
      this.#queue.push({ req, resolve });
      this.#dispatch();
    });
  }

  #spawn(): Slot {
    const leaseFd = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    leaseFd[0] = -1;
    const worker = new Worker(this.#script, { workerData: { leaseGate: this.#gate, leaseFd: leaseFd.buffer } });
    const slot: Slot = { worker, leaseFd, busy: undefined };
    const threadId = worker.threadId; // -1 once the thread has exited
    this.#slots.add(slot);
    worker.on("message", (m: { id: number; exitCode: number; stdout: string; stderr: string }) => {
      const busy = slot.busy;
      if (busy === undefined || busy.id !== m.id) return;
      slot.busy = undefined;
      busy.resolve({ kind: "done", exitCode: m.exitCode, stdout: m.stdout, stderr: m.stderr });
      this.#dispatch();
    });
    const gone = (why: string): void => {
      if (!this.#slots.delete(slot)) return;
      // Its flock first (descriptors outlive a thread: the lease directory would stay locked), then the gate.
      const fd = Atomics.exchange(slot.leaseFd, 0, -1);
      if (fd >= 0) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
      if (releaseTicketLockOf(this.#gate, threadId)) this.#log.warn("CNI worker died holding the lease lock; released it", { threadId, fd });
      if (slot.busy !== undefined) {
        this.#log.error("CNI worker died mid-request", { threadId, error: why });
        slot.busy.resolve({ kind: "lost", reason: `the service's worker thread died mid-request (${why})` });
        slot.busy = undefined;
      }
      this.#dispatch();
    };
    worker.on("error", (e) => gone(e instanceof Error ? e.message : String(e)));
    worker.on("exit", (code) => gone(`exit code ${code}`));
    return slot;
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      let slot = [...this.#slots].find((s) => s.busy === undefined);
      if (slot === undefined) {
        if (this.#slots.size >= this.#max) return;
        slot = this.#spawn();
      }
      const next = this.#queue.shift();
      if (next === undefined) return;
      const id = this.#nextId++;
      slot.busy = { id, resolve: next.resolve };
      const { invokedAs, env, stdin, netnsPath } = next.req;
      slot.worker.postMessage({ id, invokedAs, env, stdin, ...(netnsPath !== undefined ? { netnsPath } : {}) });
    }
  }

  /** Stops taking requests, answers the queued ones "not-run", lets running ones finish, stops the threads. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const q of this.#queue.splice(0)) q.resolve({ kind: "not-run", reason: "the service is shutting down" });
    await Promise.all(
      [...this.#slots].map(async (s) => {
        while (s.busy !== undefined) await new Promise((r) => setTimeout(r, 20));
        await s.worker.terminate();
      }),
    );
  }
}
