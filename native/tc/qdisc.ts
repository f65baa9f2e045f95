// native/tc/qdisc: qdisc requests (one function = one message, named like `tc qdisc ...`) and the decoder
// from RTM_NEWQDISC to `Qdisc`. Pure: builds and reads messages; ops.ts sends them.
// Imports ../netlink codec, ./messages, ./tbf, ./constants and ../api types.

import type { Qdisc, QdiscAddSpec, QdiscDelSpec, RawAttr } from "../api.js";
import { attrStr, encodeAttrs, findAttr, nla } from "../netlink/attr.js";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST } from "../netlink/constants.js";
import { RTM_DELQDISC, RTM_GETQDISC, RTM_NEWQDISC, TCA_KIND, TCA_OPTIONS, TC_H_INGRESS, tcHandle } from "./constants.js";
import { type QdiscMessage, ZERO_TCMSG } from "./messages.js";
import { decodeTbfOptions, encodeTbfOptions } from "./tbf.js";

const ACK = NLM_F_REQUEST | NLM_F_ACK;

export function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index <= 0 || index > 0x7fffffff) throw new RangeError(`Invalid interface index ${index}: expected a positive integer`);
}

function checkHandle(what: string, h: number): void {
  if (!Number.isInteger(h) || h < 0 || h > 0xffffffff) throw new RangeError(`Invalid tc ${what} ${h}: expected a 32-bit handle`);
}

/** Major:minor as tc prints it: "1:", "ffff:", "1:1", "root". */
export function formatTcHandle(h: number): string {
  if (h === 0xffffffff) return "root";
  const maj = (h >>> 16).toString(16);
  const min = h & 0xffff;
  return min === 0 ? `${maj}:` : `${maj}:${min.toString(16)}`;
}

/** A nested attribute without NLA_F_NESTED, as tc writes TCA_OPTIONS. */
const options = (children: readonly RawAttr[]): RawAttr => ({ type: TCA_OPTIONS, nested: false, data: encodeAttrs(children) });

/**
 * `tc qdisc add dev X parent P handle H tbf rate R burst B limit L` (parent TC_H_ROOT = "root") or
 * `tc qdisc add dev X handle ffff: ingress` — RTM_NEWQDISC, NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK. A qdisc of
 * our own already there: EEXIST; no such device: ENODEV.
 */
export function qdiscAddRequest(index: number, spec: QdiscAddSpec): QdiscMessage {
  checkIndex(index);
  const flags = ACK | NLM_F_CREATE | NLM_F_EXCL;
  if (spec.kind === "ingress") {
    return { kind: "qdisc", type: RTM_NEWQDISC, flags, header: { ...ZERO_TCMSG, index, handle: tcHandle(0xffff, 0), parent: TC_H_INGRESS }, attrs: [nla.str(TCA_KIND, "ingress")] };
  }
  checkHandle("parent", spec.parent);
  checkHandle("handle", spec.handle);
  return {
    kind: "qdisc",
    type: RTM_NEWQDISC,
    flags,
    header: { ...ZERO_TCMSG, index, handle: spec.handle, parent: spec.parent },
    attrs: [nla.str(TCA_KIND, "tbf"), options(encodeTbfOptions(spec.tbf))],
  };
}

/** `tc qdisc del dev X root` (parent TC_H_ROOT) / `... ingress` — RTM_DELQDISC. Nothing to delete: ENOENT or EINVAL. */
export function qdiscDelRequest(index: number, spec: QdiscDelSpec): QdiscMessage {
  checkIndex(index);
  checkHandle("parent", spec.parent);
  const attrs = spec.kind === undefined ? [] : [nla.str(TCA_KIND, spec.kind)];
  return { kind: "qdisc", type: RTM_DELQDISC, flags: ACK, header: { ...ZERO_TCMSG, index, handle: spec.handle ?? 0, parent: spec.parent }, attrs };
}

/** `tc qdisc show [dev X]` — RTM_GETQDISC, NLM_F_DUMP (the kernel dumps every device; the caller filters). */
export function qdiscListRequest(index = 0): QdiscMessage {
  return { kind: "qdisc", type: RTM_GETQDISC, flags: NLM_F_REQUEST, header: { ...ZERO_TCMSG, index }, attrs: [] };
}

/** RTM_NEWQDISC -> Qdisc. */
export function decodeQdisc(msg: QdiscMessage): Qdisc {
  const kindAttr = findAttr(msg.attrs, TCA_KIND);
  const kind = kindAttr === undefined ? "" : attrStr(kindAttr);
  const opts = findAttr(msg.attrs, TCA_OPTIONS);
  return {
    index: msg.header.index,
    kind,
    handle: msg.header.handle,
    parent: msg.header.parent,
    tbf: kind === "tbf" && opts !== undefined ? decodeTbfOptions(opts) : undefined,
    attrs: msg.attrs,
  };
}
