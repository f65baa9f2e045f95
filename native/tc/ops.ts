// native/tc/ops: the tc operations of the `Rtnl` handle (qdiscAdd, qdiscDel, qdiscList, filterAdd, filterDel,
// filterList), each one request on the handle's NETLINK_ROUTE socket; rtnl.ts delegates here.
// Imports ../netlink (engine) and the pure tc codec. Synchronous: each call returns once the kernel answered.

import type { Qdisc, QdiscAddSpec, QdiscDelSpec, TcFilter, U32FilterSpec } from "../api.js";
import type { NetlinkSocket } from "../netlink/socket.js";
import { TC_H_INGRESS } from "./constants.js";
import { decodeFilter, filterAddRequest, filterDelRequest, filterListRequest } from "./filter.js";
import { encodeTcMessage, decodeTcMessage } from "./messages.js";
import { decodeQdisc, formatTcHandle, qdiscAddRequest, qdiscDelRequest, qdiscListRequest } from "./qdisc.js";

function describeQdisc(index: number, spec: QdiscAddSpec): string {
  if (spec.kind === "ingress") return `tc qdisc add dev #${index} handle ffff: ingress`;
  const where = spec.parent === 0xffffffff ? "root" : `parent ${formatTcHandle(spec.parent)}`;
  const { rate, burst, limit } = spec.tbf;
  return `tc qdisc add dev #${index} ${where} handle ${formatTcHandle(spec.handle)} tbf rate ${rate}bps burst ${burst}b limit ${limit}b`;
}

export function qdiscAdd(socket: NetlinkSocket, index: number, spec: QdiscAddSpec): void {
  socket.ack(encodeTcMessage(qdiscAddRequest(index, spec)), describeQdisc(index, spec));
}

export function qdiscDel(socket: NetlinkSocket, index: number, spec: QdiscDelSpec): void {
  const what = spec.parent === TC_H_INGRESS ? "ingress" : spec.parent === 0xffffffff ? "root" : `parent ${formatTcHandle(spec.parent)}`;
  socket.ack(encodeTcMessage(qdiscDelRequest(index, spec)), `tc qdisc del dev #${index} ${what}`);
}

export function qdiscList(socket: NetlinkSocket, index?: number): Qdisc[] {
  const out: Qdisc[] = [];
  for (const m of socket.dump(encodeTcMessage(qdiscListRequest(index)), "tc qdisc show")) {
    const d = decodeTcMessage(m);
    if (d?.kind !== "qdisc") continue;
    const q = decodeQdisc(d);
    // The kernel dumps every device whatever tcm_ifindex says: filter here, as tc does.
    if (index === undefined || q.index === index) out.push(q);
  }
  return out;
}

export function filterAdd(socket: NetlinkSocket, index: number, spec: U32FilterSpec): void {
  const detail = `tc filter add dev #${index} parent ${formatTcHandle(spec.parent)} prio ${spec.priority} u32 ... action mirred redirect dev #${spec.mirred.ifindex}`;
  socket.ack(encodeTcMessage(filterAddRequest(index, spec)), detail);
}

export function filterDel(socket: NetlinkSocket, index: number, spec: { parent: number; priority: number; protocol: number }): void {
  socket.ack(encodeTcMessage(filterDelRequest(index, spec)), `tc filter del dev #${index} parent ${formatTcHandle(spec.parent)} prio ${spec.priority}`);
}

export function filterList(socket: NetlinkSocket, index: number, parent: number): TcFilter[] {
  const out: TcFilter[] = [];
  for (const m of socket.dump(encodeTcMessage(filterListRequest(index, parent)), `tc filter show dev #${index} parent ${formatTcHandle(parent)}`)) {
    const d = decodeTcMessage(m);
    if (d?.kind === "filter" && d.header.index === index) out.push(decodeFilter(d));
  }
  return out;
}
