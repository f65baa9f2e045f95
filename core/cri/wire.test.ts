import t from "tap";
import { ProtoDecodeError, ProtoReader, ProtoWriter, decodeFields } from "./wire.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

t.test("golden encodings (protobuf wire format)", async (t) => {
  t.equal(hex(new ProtoWriter().string(1, "abc").finish()), "0a03616263", "string field 1");
  t.equal(hex(new ProtoWriter().int(2, 150).finish()), "109601", "varint 150 (the protobuf docs' example)");
  t.equal(hex(new ProtoWriter().int(1, -1).finish()), "08ffffffffffffffffff01", "negative int64 takes ten bytes");
  t.equal(hex(new ProtoWriter().int(1, 0).string(2, "").bool(3, false).finish()), "", "proto3 defaults are not written");
  t.equal(hex(new ProtoWriter().message(1, () => undefined).finish()), "0a00", "an empty nested message is still present");
  t.equal(hex(new ProtoWriter().map(6, { k: "v" }).finish()), "32060a016b120176", "map entry: key 1, value 2");
});

t.test("round trip through the reader; last singular field wins; unknown fields skipped", async (t) => {
  const buf = new ProtoWriter()
    .string(1, "first").string(1, "id").int(3, 1).int(4, 1_700_000_000_000_000_000n)
    .message(2, (m) => m.string(1, "pod").int(4, 2))
    .map(5, { a: "1", b: "2" })
    .finish();
  // A fixed64 (wire type 1) and a fixed32 (wire type 5) field from a newer peer.
  const extra = Buffer.concat([Buffer.from(buf), Buffer.from("4901020304050607085d01020304", "hex")]);
  const r = new ProtoReader(extra);
  t.equal(r.string(1), "id");
  t.equal(r.int(3), 1);
  t.equal(r.bigint(4), 1_700_000_000_000_000_000n);
  t.equal(r.message(2)?.string(1), "pod");
  t.equal(r.message(2)?.int(4), 2);
  t.same(r.map(5), { a: "1", b: "2" });
  t.equal(r.message(9), undefined, "absent message");
  t.equal(r.string(9), "", "absent string is the default");
  t.same(r.repeatedStrings(1), ["first", "id"]);
});

t.test("malformed input fails with ProtoDecodeError", async (t) => {
  t.throws(() => decodeFields(Buffer.from("0a05616263", "hex")), ProtoDecodeError, "length beyond the buffer");
  t.throws(() => decodeFields(Buffer.from("08ff", "hex")), ProtoDecodeError, "truncated varint");
  t.throws(() => decodeFields(Buffer.from("0b", "hex")), ProtoDecodeError, "group wire type");
});
