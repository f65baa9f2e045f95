// The netlink TLV codec: padding, nesting with back-patched lengths, decode of what we encode, malformed input.
import t from "tap";
import { ByteWriter, attrNested, attrStr, attrU16, attrU32, attrU8, decodeAttrs, encodeAttrs, findAttr, nla } from "./attr.js";
import { NLA_F_NESTED } from "./constants.js";
import { encodeMessage, parseMessages, readHeader } from "./header.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

t.test("attributes are padded to 4 bytes; nla_len excludes the padding", async (t) => {
  t.equal(hex(encodeAttrs([nla.u8(4, 1)])), "0500040001000000");
  t.equal(hex(encodeAttrs([nla.u16(1, 0x1234)])), "0600010034120000");
  t.equal(hex(encodeAttrs([nla.u32(2, 1)])), "0800020001000000");
  t.equal(hex(encodeAttrs([nla.str(3, "lo")])), "070003006c6f0000");
  t.equal(hex(encodeAttrs([nla.str(3, "eth0")])), "0900030065746830" + "00000000");
  t.equal(hex(encodeAttrs([nla.bytes(1, new Uint8Array(0))])), "04000100");
});

t.test("nested attributes: NLA_F_NESTED, length covers the padded children", async (t) => {
  const n = nla.nest(18, [nla.str(1, "veth"), nla.u8(2, 7)]);
  const bytes = encodeAttrs([n]);
  t.equal(hex(bytes), "1800" + "1280" + "0900010076657468" + "00000000" + "0500020007000000");
  const [back] = decodeAttrs(bytes);
  t.equal(back?.type, 18);
  t.equal(back?.nested, true);
  const kids = back === undefined ? [] : attrNested(back);
  t.equal(kids.length, 2);
  t.equal(attrStr(kids[0] as never), "veth");
  t.equal(attrU8(kids[1] as never), 7);
});

t.test("ByteWriter back-patches nest and message lengths, and grows", async (t) => {
  const w = new ByteWriter(4);
  const at = w.beginNest(8);
  w.u32(1).u16(2);
  w.endNest(at);
  const out = w.finish();
  t.equal(out.length, 12);
  t.equal(new DataView(out.buffer).getUint16(0, true), 12);
  t.equal(new DataView(out.buffer).getUint16(2, true), 8 | NLA_F_NESTED);
  const big = encodeMessage(16, 1, (w) => {
    for (let i = 0; i < 100; i++) w.attr(nla.str(3, `name-${i}`));
  });
  t.equal(readHeader(big).len, big.length);
  const [m] = parseMessages(big);
  const attrs = decodeAttrs(m?.payload ?? new Uint8Array());
  t.equal(attrs.length, 100);
  t.equal(attrStr(attrs[99] as never), "name-99");
});

t.test("readers and findAttr", async (t) => {
  const attrs = decodeAttrs(encodeAttrs([nla.u16(1, 513), nla.u32(2, 0xfffffffe), nla.s32(3, -2)]));
  t.equal(attrU16(findAttr(attrs, 1) as never), 513);
  t.equal(attrU32(findAttr(attrs, 2) as never), 0xfffffffe);
  t.equal(findAttr(attrs, 9), undefined);
  t.throws(() => attrU32(findAttr(attrs, 1) as never), RangeError);
});

t.test("malformed attributes and messages throw RangeError", async (t) => {
  t.throws(() => decodeAttrs(Uint8Array.from([0x02, 0x00, 0x01, 0x00])), RangeError, "length below header");
  t.throws(() => decodeAttrs(Uint8Array.from([0x10, 0x00, 0x01, 0x00, 0, 0, 0, 0])), RangeError, "past the end");
  t.same(decodeAttrs(Uint8Array.from([0x01, 0x00])), [], "trailing bytes shorter than a header are ignored");
  const msg = encodeMessage(16, 0, (w) => w.u32(0));
  new DataView(msg.buffer).setUint32(0, 100, true);
  t.throws(() => parseMessages(msg), RangeError);
});
