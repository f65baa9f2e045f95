import t from "tap";
import { REFUSAL, WIRE_HEADER_BYTES, decodeRequestBody, encodeRefusal, encodeResult } from "../core/cni/wire.js";
import { callService, lostRequestError, type ClientSocket } from "./client.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const request = { invokedAs: "kubenet", env: [["CNI_COMMAND", "ADD"]] as const, stdin: enc('{"cniVersion":"0.4.0"}') };

function fake(answer: Uint8Array | Error, opts: { connectError?: Error; writeError?: Error } = {}) {
  const sent: Uint8Array[] = [];
  let closed = 0;
  const connect = (): ClientSocket => {
    if (opts.connectError) throw opts.connectError;
    return {
      writeAll(d) {
        if (opts.writeError) throw opts.writeError;
        sent.push(d);
      },
      readToEnd() {
        if (answer instanceof Error) throw answer;
        return answer;
      },
      close() {
        closed++;
      },
    };
  };
  return { connect, sent, closed: () => closed };
}

t.test("answered: stdout, stderr and exit code come back as sent", async (t) => {
  const f = fake(encodeResult({ exitCode: 1, stdout: enc("out"), stderr: enc("err") }));
  const o = callService("/s", request, f.connect);
  t.same(o, { kind: "answered", exitCode: 1, stdout: enc("out"), stderr: enc("err") });
  const body = decodeRequestBody(f.sent[0]!.subarray(WIRE_HEADER_BYTES));
  t.same(body.env, [["CNI_COMMAND", "ADD"]]);
  t.equal(f.closed(), 1);
});

t.test("unavailable before the request is complete: no socket, refused connection, failed write", async (t) => {
  const enoent = Object.assign(new Error("connect: No such file or directory"), { code: "ENOENT" });
  t.match(callService("/s", request, fake(new Uint8Array(), { connectError: enoent }).connect), { kind: "unavailable", reason: /cannot connect to "\/s"/ });
  const f = fake(new Uint8Array(), { writeError: new Error("EPIPE") });
  t.match(callService("/s", request, f.connect), { kind: "unavailable", reason: /before it was complete/ });
  t.equal(f.closed(), 1);
});

t.test("a refusal (peer, version, any version of the framing) means nothing ran: unavailable", async (t) => {
  t.match(callService("/s", request, fake(encodeRefusal(REFUSAL.PEER, "uid 1000 is not root")).connect), {
    kind: "unavailable",
    reason: /uid 1000 is not root/,
  });
  const future = encodeRefusal(REFUSAL.VERSION, "speaks 2");
  future[4] = 2;
  t.match(callService("/s", request, fake(future).connect), { kind: "unavailable", reason: /speaks 2/ });
});

t.test("lost after the request was written: EOF, cut-off answer, silence, unknown framing", async (t) => {
  t.match(callService("/s", request, fake(new Uint8Array()).connect), { kind: "lost", reason: /without an answer/ });
  const full = encodeResult({ exitCode: 0, stdout: enc("{}"), stderr: enc("") });
  t.match(callService("/s", request, fake(full.subarray(0, full.length - 3)).connect), { kind: "lost", reason: /cut off or garbled/ });
  t.match(callService("/s", request, fake(new Error("recvfrom: EAGAIN")).connect), { kind: "lost", reason: /EAGAIN/ });
  const v9 = Uint8Array.from(full);
  v9[4] = 9;
  t.match(callService("/s", request, fake(v9).connect), { kind: "lost", reason: /unknown framing/ });
});

t.test("the lost-request error is CNI code 11 in the config's version", async (t) => {
  const j = JSON.parse(lostRequestError("/run/kubenet/cni.sock", "it closed the connection without an answer", request.stdin)) as Record<string, unknown>;
  t.equal(j["code"], 11);
  t.equal(j["cniVersion"], "0.4.0");
  t.match(j["msg"], /accepted the request and then failed: it closed the connection without an answer; the request was not run a second time/);
});
