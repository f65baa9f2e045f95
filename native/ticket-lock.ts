// native/ticket-lock: a first-come-first-served lock shared by the threads of one process (the agent's CNI
// service workers), on a SharedArrayBuffer: a ticket counter, the ticket being served, the holder's id so
// that the owner of the buffer can free the lock of a thread that died holding it, and one "gave up" mark per
// ticket (a ring): a waiter whose deadline passes marks its ticket, and whoever passes the turn on skips a
// marked ticket, so a timed-out waiter never stalls the queue behind it. Imports nothing.
// Synchronous: acquire() blocks the calling thread (Atomics.wait), never the main thread of the agent.

const NEXT = 0;
const SERVING = 1;
const HOLDER = 2;
const MARKS = 3;
/** Ring of "gave up" marks, indexed by ticket: more than the waiters there can ever be at once (threads). */
const RING = 1024;
const NOBODY = -1;
const GAVE_UP = 1;

/** The shared cells of a ticket lock: pass `buffer` to the threads (workerData) and open it there. */
export function createTicketLockBuffer(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer((MARKS + RING) * Int32Array.BYTES_PER_ELEMENT);
  Atomics.store(new Int32Array(buffer), HOLDER, NOBODY);
  return buffer;
}

export interface TicketLock {
  /**
   * Waits for this thread's turn (tickets are served in the order they were drawn), at most `timeoutMs`
   * (default: forever). Returns false when the deadline passed first: the turn is given up, the lock not held.
   */
  acquire(timeoutMs?: number): boolean;
  release(): void;
}

function markOf(ticket: number): number {
  return MARKS + (ticket & (RING - 1)); // tickets wrap around int32; `&` keeps the index in the ring
}

/** Moves the turn to the next ticket, skipping (and clearing) the tickets whose waiters gave up. */
function passTurn(cells: Int32Array): void {
  for (;;) {
    const next = (Atomics.add(cells, SERVING, 1) + 1) | 0;
    // A waiter that marked `next` gave up: skip it. Clearing the mark is the claim: a waiter that marks it
    // after this check sees SERVING === its ticket and passes the turn on itself (see giveUp).
    if (Atomics.compareExchange(cells, markOf(next), GAVE_UP, 0) !== GAVE_UP) break;
  }
  Atomics.notify(cells, SERVING);
}

/** Withdraws `ticket` from the queue; if its turn came meanwhile, passes the turn on. */
function giveUp(cells: Int32Array, ticket: number): void {
  Atomics.store(cells, markOf(ticket), GAVE_UP);
  // passTurn may have moved SERVING to this ticket before the mark was there (it then left the turn here).
  // Whoever clears the mark owns the turn: if this thread does, it passes the turn on.
  if (Atomics.load(cells, SERVING) === ticket && Atomics.compareExchange(cells, markOf(ticket), GAVE_UP, 0) === GAVE_UP) {
    passTurn(cells);
  }
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Opens the lock in this thread; `holderId` names the thread (e.g. its threadId, >= 0). */
export function openTicketLock(buffer: SharedArrayBuffer, holderId: number): TicketLock {
  const cells = new Int32Array(buffer);
  return {
    acquire(timeoutMs = Infinity) {
      const ticket = Atomics.add(cells, NEXT, 1);
      const deadline = nowMs() + timeoutMs;
      for (;;) {
        const serving = Atomics.load(cells, SERVING);
        if (serving === ticket) break;
        const left = deadline - nowMs();
        if (left <= 0) {
          giveUp(cells, ticket);
          return false;
        }
        Atomics.wait(cells, SERVING, serving, left);
      }
      Atomics.store(cells, HOLDER, holderId);
      return true;
    },
    release() {
      Atomics.store(cells, HOLDER, NOBODY);
      passTurn(cells);
    },
  };
}

/** Frees the lock when `holderId` (a thread that died) holds it; returns whether it did. */
export function releaseTicketLockOf(buffer: SharedArrayBuffer, holderId: number): boolean {
  const cells = new Int32Array(buffer);
  if (holderId < 0) return false; // NOBODY, or the threadId of a Worker that has already exited
  if (Atomics.compareExchange(cells, HOLDER, holderId, NOBODY) !== holderId) return false;
  passTurn(cells);
  return true;
}
