// native/tc/filter: filter requests (named like `tc filter ...`) and the decoder from RTM_NEWTFILTER to
// `TcFilter`. Only the u32 classifier with a mirred action is built; any kind decodes (kind + raw attributes).
// Pure: builds and reads messages; ops.ts sends them. Imports ../netlink codec, ./messages, ./u32, ./constants.

import type { RawAttr, TcFilter, U32FilterSpec, U32Key } from "../api.js";
import { attrStr, findAttr, nla } from "../netlink/attr.js";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST } from "../netlink/constants.js";
import { RTM_DELTFILTER, RTM_GETTFILTER, RTM_NEWTFILTER, TCA_KIND, TCA_OPTIONS } from "./constants.js";
import { type FilterMessage, ZERO_TCMSG } from "./messages.js";
import { checkIndex } from "./qdisc.js";
import { decodeU32Options, encodeMirred, encodeU32Options } from "./u32.js";

const ACK = NLM_F_REQUEST | NLM_F_ACK;
/** One all-zero key: mask 0 matches every packet (`match u32 0 0`). */
const MATCH_ALL: readonly U32Key[] = [{ mask: 0, value: 0, off: 0, offmask: 0 }];

const swap16 = (v: number): number => ((v & 0xff) << 8) | ((v >> 8) & 0xff);

/** tcm_info of a filter: priority in the upper 16 bits, the protocol in network byte order below. */
function filterInfo(priority: number, protocol: number): number {
  if (!Number.isInteger(priority) || priority < 1 || priority > 0xffff) throw new RangeError(`Invalid filter priority ${priority}: expected 1..65535`);
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 0xffff) throw new RangeError(`Invalid filter protocol ${protocol}`);
  return ((priority << 16) | swap16(protocol)) >>> 0;
}

/**
 * `tc filter add dev X parent P protocol PROTO prio N u32 match u32 0 0 flowid C action mirred egress
 * redirect dev Y` — RTM_NEWTFILTER, NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK, TCA_KIND "u32" + TCA_OPTIONS.
 * No qdisc at P: EINVAL (with the kernel's extack text).
 */
export function filterAddRequest(index: number, spec: U32FilterSpec): FilterMessage {
  checkIndex(index);
  checkIndex(spec.mirred.ifindex);
  const opts = encodeU32Options({ keys: spec.keys ?? MATCH_ALL, classId: spec.classId }, [encodeMirred(spec.mirred)]);
  return {
    kind: "filter",
    type: RTM_NEWTFILTER,
    flags: ACK | NLM_F_CREATE | NLM_F_EXCL,
    header: { ...ZERO_TCMSG, index, parent: spec.parent >>> 0, info: filterInfo(spec.priority, spec.protocol) },
    attrs: [nla.str(TCA_KIND, "u32"), opts],
  };
}

/** `tc filter del dev X parent P prio N protocol PROTO` — RTM_DELTFILTER (the whole priority). Missing: ENOENT. */
export function filterDelRequest(index: number, spec: { parent: number; priority: number; protocol: number }): FilterMessage {
  checkIndex(index);
  return { kind: "filter", type: RTM_DELTFILTER, flags: ACK, header: { ...ZERO_TCMSG, index, parent: spec.parent >>> 0, info: filterInfo(spec.priority, spec.protocol) }, attrs: [] };
}

/** `tc filter show dev X parent P` — RTM_GETTFILTER, NLM_F_DUMP (the kernel needs the device and the parent qdisc). */
export function filterListRequest(index: number, parent: number): FilterMessage {
  checkIndex(index);
  return { kind: "filter", type: RTM_GETTFILTER, flags: NLM_F_REQUEST, header: { ...ZERO_TCMSG, index, parent: parent >>> 0 }, attrs: [] };
}

/** RTM_NEWTFILTER -> TcFilter. */
export function decodeFilter(msg: FilterMessage): TcFilter {
  const kindAttr = findAttr(msg.attrs, TCA_KIND);
  const kind = kindAttr === undefined ? "" : attrStr(kindAttr);
  const opts: RawAttr | undefined = findAttr(msg.attrs, TCA_OPTIONS);
  return {
    index: msg.header.index,
    kind,
    parent: msg.header.parent,
    handle: msg.header.handle,
    priority: msg.header.info >>> 16,
    protocol: swap16(msg.header.info & 0xffff),
    u32: kind === "u32" && opts !== undefined ? decodeU32Options(opts) : undefined,
    attrs: msg.attrs,
  };
}
