// native/conntrack: deleting conntrack entries through NETLINK_NETFILTER (ctnetlink), like
// `conntrack -D -p udp --orig-port-dst 8080` but without exec'ing conntrack. Used after host-port rules land:
// a UDP "connection" keeps its old translation as long as packets keep coming, so a client that sent to the
// port before the DNAT existed would never reach the pod. Synchronous (one socket, one dump, one delete per
// match). Requests are built by pure functions here; test/native/conntrack.test.ts checks the effect against
// /proc/net/nf_conntrack.
//
// The dump carries a kernel-side filter (CTA_FILTER, Linux 5.8+: only entries whose original tuple has this
// protocol and destination port come back); entries are matched again here, so a kernel that ignores the
// filter still deletes only what it should.

import type { IpFamily } from "../../core/ip.js";
import { attrNested, attrU8, decodeAttrs, findAttr, nla, type ByteWriter } from "../netlink/attr.js";
import { NLM_F_ACK, NLM_F_REQUEST } from "../netlink/constants.js";
import { encodeMessage, type NlMessage } from "../netlink/header.js";
import { NetlinkError } from "../netlink/netlink-error.js";
import { NetlinkSocket, openKernelTransport } from "../netlink/socket.js";
import { withNetnsSync } from "../netns.js";
import { familyToAf } from "../rtnl/addr.js";
import type { RawAttr } from "../api.js";
import {
  CTA_FILTER, CTA_FILTER_FLAG_CTA_PROTO_DST_PORT, CTA_FILTER_FLAG_CTA_PROTO_NUM, CTA_FILTER_ORIG_FLAGS, CTA_PROTO_DST_PORT, CTA_PROTO_NUM,
  CTA_TUPLE_ORIG, CTA_TUPLE_PROTO, CTA_ZONE, IPCTNL_MSG_CT_DELETE, IPCTNL_MSG_CT_GET, NETLINK_NETFILTER, NFNETLINK_V0,
  NFNL_SUBSYS_CTNETLINK,
} from "./constants.js";

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

const ctType = (msg: number): number => (NFNL_SUBSYS_CTNETLINK << 8) | msg;

const ctTypeName = (type: number): string =>
  ({ [ctType(IPCTNL_MSG_CT_GET)]: "IPCTNL_MSG_CT_GET", [ctType(IPCTNL_MSG_CT_DELETE)]: "IPCTNL_MSG_CT_DELETE" })[type] ?? `ctnetlink message ${type}`;

/** struct nfgenmsg: family, version, res_id (big-endian, 0). */
const nfgen = (w: ByteWriter, family: IpFamily): void => {
  w.u8(familyToAf(family)).u8(NFNETLINK_V0).u16(0);
};

/** `conntrack -L -f <family> -p <proto> --orig-port-dst <port>`: a dump filtered by protocol and port. */
function conntrackDumpRequest(family: IpFamily, protocol: number, port: number): Uint8Array {
  const attrs = [
    nla.nest(CTA_TUPLE_ORIG, [nla.nest(CTA_TUPLE_PROTO, [nla.u8(CTA_PROTO_NUM, protocol), nla.be16(CTA_PROTO_DST_PORT, port)])]),
    nla.nest(CTA_FILTER, [nla.u32(CTA_FILTER_ORIG_FLAGS, CTA_FILTER_FLAG_CTA_PROTO_NUM | CTA_FILTER_FLAG_CTA_PROTO_DST_PORT)]),
  ];
  return encodeMessage(ctType(IPCTNL_MSG_CT_GET), 0, (w) => {
    nfgen(w, family);
    for (const a of attrs) w.attr(a);
  });
}

/** `conntrack -D` of one entry: its original tuple (and zone) sent back as the kernel gave them. */
function conntrackDeleteRequest(family: IpFamily, origTuple: RawAttr, zone: RawAttr | undefined): Uint8Array {
  return encodeMessage(ctType(IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST | NLM_F_ACK, (w) => {
    nfgen(w, family);
    w.attr({ ...origTuple, nested: true });
    if (zone !== undefined) w.attr(zone);
  });
}

interface Entry {
  readonly orig: RawAttr;
  readonly zone: RawAttr | undefined;
  readonly protocol: number | undefined;
  readonly dstPort: number | undefined;
}

/** The original tuple's protocol and destination port of one dumped entry. */
function decodeEntry(m: NlMessage): Entry | undefined {
  const attrs = decodeAttrs(m.payload.subarray(4));
  const orig = findAttr(attrs, CTA_TUPLE_ORIG);
  if (orig === undefined) return undefined;
  const proto = findAttr(attrNested(orig), CTA_TUPLE_PROTO);
  const pattrs = proto === undefined ? [] : attrNested(proto);
  const num = findAttr(pattrs, CTA_PROTO_NUM);
  const dport = findAttr(pattrs, CTA_PROTO_DST_PORT);
  return {
    orig,
    zone: findAttr(attrs, CTA_ZONE),
    protocol: num === undefined ? undefined : attrU8(num),
    dstPort: dport === undefined || dport.data.length < 2 ? undefined : ((dport.data[0] as number) << 8) | (dport.data[1] as number),
  };
}

export interface ConntrackDeleteOptions {
  readonly family: IpFamily;
  /** IPPROTO_UDP, IPPROTO_TCP, IPPROTO_SCTP. */
  readonly protocol: number;
  readonly dstPorts: readonly number[];
  /** The namespace whose table is cleaned; undefined = the caller's. */
  readonly netnsPath?: string | undefined;
  readonly timeoutMs?: number;
}

/**
 * Deletes the conntrack entries whose original direction goes to one of `dstPorts` with `protocol`.
 * Returns how many were deleted (an entry that vanished meanwhile is not an error).
 * @throws NetlinkError / SysError when ctnetlink is not usable
 */
export function conntrackDeleteByDstPort(options: ConntrackDeleteOptions): number {
  const timeoutMs = options.timeoutMs ?? 5000;
  const open = () => openKernelTransport(NETLINK_NETFILTER, { timeoutMs });
  const transport = options.netnsPath === undefined ? open() : withNetnsSync(options.netnsPath, open);
  const sock = new NetlinkSocket(transport, { typeName: ctTypeName, timeoutMs });
  try {
    let deleted = 0;
    for (const port of new Set(options.dstPorts)) {
      const replies = sock.dump(conntrackDumpRequest(options.family, options.protocol, port));
      for (const m of replies) {
        const e = decodeEntry(m);
        if (e === undefined || e.protocol !== options.protocol || e.dstPort !== port) continue;
        try {
          sock.ack(conntrackDeleteRequest(options.family, e.orig, e.zone));
          deleted++;
        } catch (err) {
          if (!(err instanceof NetlinkError && err.code === "ENOENT")) throw err;
        }
      }
    }
    return deleted;
  } finally {
    sock.close();
  }
}
