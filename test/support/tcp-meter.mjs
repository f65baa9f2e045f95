// test/support/tcp-meter: a TCP throughput meter for the shaping tests, run inside a namespace with
// `nsenter --net=... node tcp-meter.mjs ...` (plain JS: no loader needed).
//   node tcp-meter.mjs recv PORT WARMUP_S   accepts one connection, prints {"bytes","seconds","mbit"} as JSON
//                                           for the bytes after the first WARMUP_S seconds (slow start and
//                                           the token bucket's initial burst are left out), then exits
//   node tcp-meter.mjs send HOST PORT SECONDS   writes as fast as the socket takes for SECONDS, then closes
import { createConnection, createServer } from "node:net";

const [mode, ...args] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e9;

if (mode === "recv") {
  const [port, warmup] = [Number(args[0]), Number(args[1] ?? 2)];
  const server = createServer((sock) => {
    let first;
    let counted = 0;
    let from;
    let last;
    sock.on("data", (chunk) => {
      const t = now();
      first ??= t;
      if (t - first < warmup) return;
      from ??= t;
      counted += chunk.length;
      last = t;
    });
    sock.on("end", () => {
      const seconds = last !== undefined && from !== undefined ? last - from : 0;
      process.stdout.write(`${JSON.stringify({ bytes: counted, seconds, mbit: seconds > 0 ? (counted * 8) / seconds / 1e6 : 0 })}\n`);
      server.close();
      sock.destroy();
    });
  });
  server.listen(port, () => process.stdout.write("listening\n"));
} else if (mode === "send") {
  const [host, port, seconds] = [args[0], Number(args[1]), Number(args[2])];
  const buf = Buffer.alloc(64 * 1024, 0x5a);
  const sock = createConnection({ host, port }, () => {
    const until = now() + seconds;
    const pump = () => {
      while (now() < until) if (!sock.write(buf)) return void sock.once("drain", pump);
      sock.end();
    };
    pump();
  });
  sock.on("error", (e) => {
    process.stderr.write(`send: ${e.message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write("usage: tcp-meter.mjs recv PORT [WARMUP_S] | send HOST PORT SECONDS\n");
  process.exit(2);
}
