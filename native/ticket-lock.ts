// native/ticket-lock: a first-come-first-served lock shared by the threads of one process (the agent's CNI
// service workers), on a SharedArrayBuffer: a ticket counter, the ticket being served, and the holder's id so
// that the owner of the buffer can free the lock of a thread that died holding it. Imports nothing.
// Synchronous: acquire() blocks the calling thread (Atomics.wait), never the main thread of the agent.

const NEXT = 0;
const SERVING = 1;
const HOLDER = 2;
const NOBODY = -1;

/** The shared cells of a ticket lock: pass `buffer` to the threads (workerData) and open it there. */
export function createTicketLockBuffer(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  Atomics.store(new Int32Array(buffer), HOLDER, NOBODY);
  return buffer;
}

export interface TicketLock {
  /** Waits for this thread's turn (tickets are served in the order they were drawn). */
  acquire(): void;
  release(): void;
}

/** Opens the lock in this thread; `holderId` names the thread (e.g. its threadId, >= 0). */
export function openTicketLock(buffer: SharedArrayBuffer, holderId: number): TicketLock {
  const cells = new Int32Array(buffer);
  return {
    acquire() {
      const ticket = Atomics.add(cells, NEXT, 1);
      for (;;) {
        const serving = Atomics.load(cells, SERVING);
        if (serving === ticket) break;
        Atomics.wait(cells, SERVING, serving);
      }
      Atomics.store(cells, HOLDER, holderId);
    },
    release() {
      Atomics.store(cells, HOLDER, NOBODY);
      Atomics.add(cells, SERVING, 1);
      Atomics.notify(cells, SERVING);
    },
  };
}

/** Frees the lock when `holderId` (a thread that died) holds it; returns whether it did. */
export function releaseTicketLockOf(buffer: SharedArrayBuffer, holderId: number): boolean {
  const cells = new Int32Array(buffer);
  if (holderId < 0) return false; // NOBODY, or the threadId of a Worker that has already exited
  if (Atomics.compareExchange(cells, HOLDER, holderId, NOBODY) !== holderId) return false;
  Atomics.add(cells, SERVING, 1);
  Atomics.notify(cells, SERVING);
  return true;
}
