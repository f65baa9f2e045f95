import t from "tap";
import {
  FRAME_KIND,
  REFUSAL,
  WIRE_HEADER_BYTES,
  WireError,
  decodeAnswer,
  decodeHeader,
  decodeRequestBody,
  encodeRefusal,
  encodeRequest,
  encodeResult,
} from "./wire.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

t.test("request: golden bytes and round trip", async (t) => {
  const req = { invokedAs: "kubenet", env: [["CNI_COMMAND", "ADD"], ["A", "x=y"]] as const, stdin: bytes("{}") };
  const frame = encodeRequest(req);
  t.equal(
    hex(frame),
    [
      "4b434e49", "01", "01", "0000", "0000002f", // KCNI v1 REQUEST, body 47 bytes
      "0007", hex(bytes("kubenet")),
      "00000002",
      "0000000f", hex(bytes("CNI_COMMAND=ADD")),
      "00000005", hex(bytes("A=x=y")),
      "00000002", hex(bytes("{}")),
    ].join(""),
  );
  const h = decodeHeader(frame);
  t.same(h, { version: 1, kind: FRAME_KIND.REQUEST, bodyLength: frame.length - WIRE_HEADER_BYTES });
  const back = decodeRequestBody(frame.subarray(WIRE_HEADER_BYTES));
  t.equal(back.invokedAs, "kubenet");
  t.same(back.env, [["CNI_COMMAND", "ADD"], ["A", "x=y"]], "a value keeps its own '='");
  t.equal(hex(back.stdin), hex(bytes("{}")));
});

t.test("stdin and env travel byte for byte (non-UTF-8 stdin, empty values)", async (t) => {
  const stdin = Uint8Array.of(0xff, 0x00, 0x7b, 0x0a);
  const back = decodeRequestBody(encodeRequest({ invokedAs: "host-local", env: [["CNI_NETNS", ""]], stdin }).subarray(WIRE_HEADER_BYTES));
  t.equal(hex(back.stdin), "ff007b0a");
  t.same(back.env, [["CNI_NETNS", ""]]);
  t.equal(back.invokedAs, "host-local");
});

t.test("result: golden bytes and round trip", async (t) => {
  const frame = encodeResult({ exitCode: 1, stdout: bytes("{\n}"), stderr: bytes("") });
  t.equal(hex(frame), "4b434e49" + "01" + "02" + "0000" + "0000000f" + "00000001" + "00000003" + hex(bytes("{\n}")) + "00000000");
  const a = decodeAnswer(frame);
  t.equal(a.kind, "result");
  if (a.kind === "result") {
    t.equal(a.exitCode, 1);
    t.equal(new TextDecoder().decode(a.stdout), "{\n}");
    t.equal(a.stderr.length, 0);
  }
});

t.test("refusal: golden bytes; decodes whatever its version", async (t) => {
  const frame = encodeRefusal(REFUSAL.PEER, "uid 65534 is not root");
  t.equal(hex(frame.subarray(0, 13)), "4b434e49" + "01" + "03" + "0000" + "00000016" + "02");
  t.same(decodeAnswer(frame), { kind: "refused", reason: REFUSAL.PEER, message: "uid 65534 is not root" });
  const future = Uint8Array.from(frame);
  future[4] = 9; // a refusal from a newer service still reads as a refusal: nothing ran
  t.same(decodeAnswer(future), { kind: "refused", reason: REFUSAL.PEER, message: "uid 65534 is not root" });
});

t.test("header checks: magic, version, size", async (t) => {
  const good = encodeRequest({ invokedAs: "kubenet", env: [], stdin: new Uint8Array() });
  const wrongVersion = Uint8Array.from(good);
  wrongVersion[4] = 2;
  t.throws(() => decodeHeader(wrongVersion), { name: "WireError", refusal: REFUSAL.VERSION, message: /version 2 is not supported/ });
  t.same(decodeHeader(wrongVersion, [1, 2]).version, 2);
  const wrongMagic = Uint8Array.from(good);
  wrongMagic[0] = 0x7b;
  t.throws(() => decodeHeader(wrongMagic), { refusal: REFUSAL.VERSION, message: /magic 0x7b434e49/ });
  const huge = Uint8Array.from(good);
  new DataView(huge.buffer).setUint32(8, 0x7fffffff);
  t.throws(() => decodeHeader(huge), { refusal: REFUSAL.MALFORMED, message: /larger than/ });
  t.throws(() => decodeHeader(good.subarray(0, 5)), { refusal: REFUSAL.MALFORMED, message: /expected 12/ });
});

t.test("malformed bodies and answers", async (t) => {
  const frame = encodeRequest({ invokedAs: "kubenet", env: [["K", "V"]], stdin: bytes("{}") });
  t.throws(() => decodeRequestBody(frame.subarray(WIRE_HEADER_BYTES, frame.length - 1)), { refusal: REFUSAL.MALFORMED, message: /truncated/ });
  const extra = new Uint8Array(frame.length + 1);
  extra.set(frame);
  t.throws(() => decodeRequestBody(extra.subarray(WIRE_HEADER_BYTES)), { message: /stray bytes/ });
  const noEq = encodeRequest({ invokedAs: "kubenet", env: [["", "V"]], stdin: bytes("") });
  t.throws(() => decodeRequestBody(noEq.subarray(WIRE_HEADER_BYTES)), { message: /not KEY=VALUE/ });
  const result = encodeResult({ exitCode: 0, stdout: bytes("{}"), stderr: bytes("") });
  t.throws(() => decodeAnswer(result.subarray(0, result.length - 2)), WireError, "a cut-off answer is an error, never a result");
  t.throws(() => decodeAnswer(frame), { message: /expected a result/ });
  t.throws(() => decodeAnswer(encodeRefusal(REFUSAL.VERSION, "x").subarray(0, 13)), { message: /truncated/ });
});
