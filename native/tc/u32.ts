// native/tc/u32: the u32 classifier's options with actions, as `tc filter add ... u32 match u32 0 0 flowid
// 1:1 action mirred egress redirect dev IFB` sends them (iproute2 f_u32.c, m_mirred.c), and the decoder for
// dumped u32 filters (selector keys, class id, actions). This kernel has no `matchall`: a u32 selector with
// one all-zero key (mask 0 matches every packet) is the portable match-all.
// Pure (no I/O); imports ../netlink codec and ./constants.

import type { MirredParams, RawAttr, TcAction, U32Key, U32State } from "../api.js";
import { HOST_LE, attrNested, attrStr, attrU32, encodeAttrs, findAttr, nla } from "../netlink/attr.js";
import {
  TCA_ACT_KIND,
  TCA_ACT_OPTIONS,
  TCA_MIRRED_PARMS,
  TCA_U32_ACT,
  TCA_U32_CLASSID,
  TCA_U32_DIVISOR,
  TCA_U32_SEL,
  TC_MIRRED_LEN,
  TC_U32_KEY_LEN,
  TC_U32_SEL_LEN,
  TC_U32_TERMINAL,
} from "./constants.js";

/** A nested attribute written without NLA_F_NESTED, as iproute2's addattr_nest does for these. */
const plainNest = (type: number, children: readonly RawAttr[]): RawAttr => ({ type, nested: false, data: encodeAttrs(children) });

/** struct tc_u32_sel with `keys` (tc `match u32 V M at O`); `terminal` as tc sets it with flowid/classid. */
function encodeU32Sel(keys: readonly U32Key[], terminal: boolean): Uint8Array {
  const data = new Uint8Array(TC_U32_SEL_LEN + keys.length * TC_U32_KEY_LEN);
  const v = new DataView(data.buffer);
  v.setUint8(0, terminal ? TC_U32_TERMINAL : 0); // flags
  v.setUint8(2, keys.length); // nkeys; offshift, offmask, off, offoff, hoff, hmask stay 0
  keys.forEach((k, i) => {
    const at = TC_U32_SEL_LEN + i * TC_U32_KEY_LEN;
    v.setUint32(at, k.mask >>> 0, false); // network byte order, as tc's htonl()
    v.setUint32(at + 4, k.value >>> 0, false);
    v.setInt32(at + 8, k.off, HOST_LE);
    v.setInt32(at + 12, k.offmask, HOST_LE);
  });
  return data;
}

/** `action mirred egress redirect dev X` with its struct tc_mirred (action TC_ACT_STOLEN for redirect). */
export function encodeMirred(params: MirredParams): RawAttr[] {
  const parms = new Uint8Array(TC_MIRRED_LEN);
  const v = new DataView(parms.buffer);
  // tc_gen: index, capab, action, refcnt, bindcnt; then eaction, ifindex
  v.setInt32(8, params.action, HOST_LE);
  v.setInt32(20, params.eaction, HOST_LE);
  v.setUint32(24, params.ifindex, HOST_LE);
  return [nla.str(TCA_ACT_KIND, "mirred"), nla.nest(TCA_ACT_OPTIONS, [nla.bytes(TCA_MIRRED_PARMS, parms)])];
}

/**
 * The TCA_OPTIONS of a u32 filter in tc's order: TCA_U32_CLASSID, TCA_U32_ACT (one nest per action,
 * numbered from 1 = the order they run in), TCA_U32_SEL.
 */
export function encodeU32Options(sel: { keys: readonly U32Key[]; classId: number }, actions: readonly RawAttr[][]): RawAttr {
  const children: RawAttr[] = [];
  if (sel.classId !== 0) children.push(nla.u32(TCA_U32_CLASSID, sel.classId));
  if (actions.length > 0) children.push(plainNest(TCA_U32_ACT, actions.map((a, i) => plainNest(i + 1, a))));
  children.push(nla.bytes(TCA_U32_SEL, encodeU32Sel(sel.keys, sel.classId !== 0)));
  return plainNest(2 /* TCA_OPTIONS */, children);
}

function decodeSel(a: RawAttr): { flags: number; keys: U32Key[] } | undefined {
  if (a.data.length < TC_U32_SEL_LEN) return undefined;
  const v = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const nkeys = v.getUint8(2);
  const keys: U32Key[] = [];
  for (let i = 0; i < nkeys && TC_U32_SEL_LEN + (i + 1) * TC_U32_KEY_LEN <= a.data.length; i++) {
    const at = TC_U32_SEL_LEN + i * TC_U32_KEY_LEN;
    keys.push({ mask: v.getUint32(at, false), value: v.getUint32(at + 4, false), off: v.getInt32(at + 8, HOST_LE), offmask: v.getInt32(at + 12, HOST_LE) });
  }
  return { flags: v.getUint8(0), keys };
}

/** One action nest (kind + options) -> TcAction. */
function decodeAction(a: RawAttr): TcAction {
  const children = attrNested(a);
  const kindAttr = findAttr(children, TCA_ACT_KIND);
  const kind = kindAttr === undefined ? "" : attrStr(kindAttr);
  let mirred: MirredParams | undefined;
  const options = findAttr(children, TCA_ACT_OPTIONS);
  if (kind === "mirred" && options !== undefined) {
    const parms = findAttr(attrNested(options), TCA_MIRRED_PARMS);
    if (parms !== undefined && parms.data.length >= TC_MIRRED_LEN) {
      const v = new DataView(parms.data.buffer, parms.data.byteOffset, parms.data.byteLength);
      mirred = { action: v.getInt32(8, HOST_LE), eaction: v.getInt32(20, HOST_LE), ifindex: v.getUint32(24, HOST_LE) };
    }
  }
  return { kind, mirred };
}

/** TCA_OPTIONS of a dumped u32 filter -> U32State. */
export function decodeU32Options(options: RawAttr): U32State {
  const children = attrNested(options);
  const selAttr = findAttr(children, TCA_U32_SEL);
  const sel = selAttr === undefined ? undefined : decodeSel(selAttr);
  const classId = findAttr(children, TCA_U32_CLASSID);
  const divisor = findAttr(children, TCA_U32_DIVISOR);
  const act = findAttr(children, TCA_U32_ACT);
  const actions = act === undefined ? [] : attrNested(act).sort((x, y) => x.type - y.type).map(decodeAction);
  return {
    selFlags: sel?.flags,
    keys: sel?.keys ?? [],
    classId: classId === undefined ? undefined : attrU32(classId),
    divisor: divisor === undefined ? undefined : attrU32(divisor),
    actions,
  };
}
