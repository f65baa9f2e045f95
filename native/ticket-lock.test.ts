// ticket-lock (no root): tickets are served in order; a waiter whose deadline passes gives its turn up and the
// queue behind it moves on (the turn is never stranded on a ticket nobody waits for); the owner frees the lock
// of a thread that died holding it; and with threads racing (turns arriving exactly as waiters give up) the
// lock stays exclusive and the queue never stalls.
import t from "tap";
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { transformSync } from "esbuild";
import { createTicketLockBuffer, openTicketLock, releaseTicketLockOf } from "./ticket-lock.js";

t.test("free: taken at once; held: a zero or short timeout gives up and returns false", (t) => {
  const buf = createTicketLockBuffer();
  const a = openTicketLock(buf, 1);
  const b = openTicketLock(buf, 2);
  t.equal(a.acquire(0), true, "a free lock with timeout 0");
  t.equal(b.acquire(0), false, "held: timeout 0 gives up at once");
  t.equal(b.acquire(20), false, "held: gives up after its timeout");
  a.release();
  t.equal(b.acquire(0), true, "the two given-up tickets were skipped: the next waiter is served");
  b.release();
  t.end();
});

t.test("a waiter that gave up in the middle of the queue does not stall the ones after it", (t) => {
  const buf = createTicketLockBuffer();
  const [a, b, c] = [1, 2, 3].map((id) => openTicketLock(buf, id)) as [ReturnType<typeof openTicketLock>, ReturnType<typeof openTicketLock>, ReturnType<typeof openTicketLock>];
  t.equal(a.acquire(), true);
  for (let i = 0; i < 5; i++) t.equal(b.acquire(1), false, `give-up ${i}`);
  a.release();
  t.equal(c.acquire(1000), true, "served after 5 skipped tickets");
  c.release();
  t.equal(a.acquire(0), true, "and the lock is free again afterwards");
  a.release();
  t.end();
});

t.test("releaseTicketLockOf frees the holder's turn, and only the holder's", (t) => {
  const buf = createTicketLockBuffer();
  const dead = openTicketLock(buf, 7);
  const next = openTicketLock(buf, 8);
  t.equal(dead.acquire(), true);
  t.equal(releaseTicketLockOf(buf, 8), false, "8 does not hold it");
  t.equal(releaseTicketLockOf(buf, -1), false, "an exited Worker's threadId");
  t.equal(releaseTicketLockOf(buf, 7), true);
  t.equal(next.acquire(0), true, "the next one is served");
  next.release();
  t.end();
});

/** The module as plain CommonJS for worker threads (tap's TypeScript loader does not reach eval workers). */
function moduleSource(): string {
  const ts = readFileSync(new URL("./ticket-lock.ts", import.meta.url), "utf8");
  return transformSync(ts, { loader: "ts", format: "cjs" }).code;
}

// Cells of the shared stats: threads inside the critical section now, entries, overlaps seen, give-ups.
const INSIDE = 0;
const ENTRIES = 1;
const OVERLAPS = 2;
const GAVE_UP = 3;

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const module = { exports: {} };
new Function("module", "exports", workerData.source)(module, module.exports);
const lock = module.exports.openTicketLock(workerData.lock, workerData.id);
const stats = new Int32Array(workerData.stats);
for (let i = 0; i < workerData.rounds; i++) {
  // Timeouts of 20 us or 2 ms against holds of a few microseconds: turns arrive while waiters give up.
  if (lock.acquire(Math.random() < 0.5 ? 0.02 : 2)) {
    if (Atomics.add(stats, ${INSIDE}, 1) !== 0) Atomics.add(stats, ${OVERLAPS}, 1);
    Atomics.add(stats, ${ENTRIES}, 1);
    for (let k = 0; k < 200; k++) Math.sqrt(k);
    Atomics.sub(stats, ${INSIDE}, 1);
    lock.release();
  } else {
    Atomics.add(stats, ${GAVE_UP}, 1);
  }
}
parentPort.postMessage("done");
`;

t.test("threads racing with short timeouts: exclusive, and the queue never stalls", async (t) => {
  const buf = createTicketLockBuffer();
  const stats = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
  const source = moduleSource();
  const threads = 4;
  const rounds = 10000;
  const workers = Array.from(
    { length: threads },
    (_, i) => new Worker(WORKER, { eval: true, workerData: { source, lock: buf, stats, id: 100 + i, rounds } }),
  );
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once("message", () => resolve());
          w.once("error", reject);
        }),
    ),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  const cells = new Int32Array(stats);
  t.equal(Atomics.load(cells, OVERLAPS), 0, "never two threads inside");
  t.equal(Atomics.load(cells, ENTRIES) + Atomics.load(cells, GAVE_UP), threads * rounds, "every attempt entered or gave up");
  t.ok(Atomics.load(cells, ENTRIES) > 0, "some entered");
  t.comment(`entered ${Atomics.load(cells, ENTRIES)}, gave up ${Atomics.load(cells, GAVE_UP)}`);
  // Nobody holds it and nobody waits: a stranded turn (a skipped ticket left as the one being served) would
  // make this wait time out.
  const last = openTicketLock(buf, 1);
  t.equal(last.acquire(60_000), true, "the lock is free afterwards");
  last.release();
});
