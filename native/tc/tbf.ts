// native/tc/tbf: the token bucket filter's options as `tc qdisc add ... tbf rate R burst B limit L` sends them
// (iproute2 q_tbf.c): struct tc_tbf_qopt with its rate table, the burst in bytes, the 64-bit rate when the
// rate does not fit 32 bits; and the decoder for what a dump gives back (rate, limit, buffer -> burst).
// Pure (no I/O); imports ../netlink codec and ./constants.

import type { RawAttr, TbfParams, TbfState } from "../api.js";
import { HOST_LE, attrNested, findAttr, nla } from "../netlink/attr.js";
import {
  PSCHED_TICKS_PER_USEC,
  TCA_TBF_BURST,
  TCA_TBF_PARMS,
  TCA_TBF_PRATE64,
  TCA_TBF_RATE64,
  TCA_TBF_RTAB,
  TC_LINKLAYER_ETHERNET,
  TC_RTAB_SIZE,
  TC_TBF_QOPT_LEN,
  TIME_UNITS_PER_SEC,
} from "./constants.js";

const U32_MAX = 0xffffffff;

/**
 * C's double -> unsigned conversion as iproute2 compiles it on 64-bit machines: truncate toward zero, keep
 * the low 32 bits. Golden bytes depend on it, so it is spelled out.
 */
const toU32 = (x: number): number => (x <= 0 ? 0 : Number(BigInt(Math.trunc(x)) & 0xffffffffn));

/** tc_core_time2tick(): microseconds -> psched ticks. */
export const time2tick = (usec: number): number => toU32(toU32(usec) * PSCHED_TICKS_PER_USEC);

/** tc_calc_xmittime(): ticks to send `size` bytes at `rate` bytes/s. */
export const xmitTime = (rate: number, size: number): number => time2tick(TIME_UNITS_PER_SEC * (size / rate));

/**
 * TBF's queue limit for a latency, as tc's `latency` option and the reference bandwidth plugin compute it
 * (rate x latency + burst, truncated). Not clamped: a limit must fit 32 bits, the caller decides how.
 */
export const tbfLimitForLatency = (rate: number, burst: number, latencyUsec: number): number =>
  Math.trunc((rate * latencyUsec) / TIME_UNITS_PER_SEC) + burst;

/**
 * tc_calc_rtable() for an Ethernet link with the default MTU guess (2047) and no mpu/overhead: cell_log is
 * the smallest shift that fits 2047 in 256 cells (3), entry i is the time to send (i + 1) << cell_log bytes.
 */
export function rateTable(rate32: number): { cellLog: number; table: Uint8Array } {
  let cellLog = 0;
  while (2047 >> cellLog > 255) cellLog++;
  const table = new Uint8Array(TC_RTAB_SIZE);
  const v = new DataView(table.buffer);
  for (let i = 0; i < 256; i++) v.setUint32(i * 4, xmitTime(rate32, (i + 1) << cellLog), HOST_LE);
  return { cellLog, table };
}

function checkParams(p: TbfParams): void {
  for (const [k, v, max] of [["rate", p.rate, Number.MAX_SAFE_INTEGER], ["burst", p.burst, U32_MAX], ["limit", p.limit, U32_MAX]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > max) throw new RangeError(`Invalid TBF ${k} ${v}: expected an integer from 1 to ${max}`);
  }
}

/**
 * The TCA_OPTIONS children of `tc qdisc add ... tbf rate R burst B limit L`, in tc's order: TCA_TBF_PARMS,
 * TCA_TBF_BURST, TCA_TBF_RATE64 (only when R >= 2^32), TCA_TBF_RTAB. With TCA_TBF_BURST the kernel derives
 * the bucket time itself (sch_tbf.c); tc_tbf_qopt.buffer is what tc computes from the 32-bit rate, kept
 * for byte-identical requests.
 */
export function encodeTbfOptions(p: TbfParams): RawAttr[] {
  checkParams(p);
  const rate32 = Math.min(p.rate, U32_MAX);
  const { cellLog, table } = rateTable(rate32);
  const parms = new Uint8Array(TC_TBF_QOPT_LEN);
  const v = new DataView(parms.buffer);
  // struct tc_ratespec: cell_log u8, linklayer u8, overhead u16, cell_align s16, mpu u16, rate u32
  v.setUint8(0, cellLog);
  v.setUint8(1, TC_LINKLAYER_ETHERNET);
  v.setInt16(4, -1, HOST_LE);
  v.setUint32(8, rate32, HOST_LE);
  // peakrate (12..23) stays zero: no peak rate
  v.setUint32(24, p.limit, HOST_LE);
  v.setUint32(28, xmitTime(rate32, p.burst), HOST_LE);
  // mtu (32..35) zero: no peak rate
  const attrs = [nla.bytes(TCA_TBF_PARMS, parms), nla.u32(TCA_TBF_BURST, p.burst)];
  if (p.rate > U32_MAX) attrs.push(u64Attr(TCA_TBF_RATE64, p.rate));
  attrs.push(nla.bytes(TCA_TBF_RTAB, table));
  return attrs;
}

function u64Attr(type: number, value: number): RawAttr {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigUint64(0, BigInt(value), HOST_LE);
  return { type, nested: false, data };
}

const view = (a: RawAttr): DataView => new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);

/** TCA_OPTIONS of a dumped tbf qdisc -> TbfState; undefined when TCA_TBF_PARMS is missing or short. */
export function decodeTbfOptions(options: RawAttr): TbfState | undefined {
  const children = attrNested(options);
  const parms = findAttr(children, TCA_TBF_PARMS);
  if (parms === undefined || parms.data.length < TC_TBF_QOPT_LEN) return undefined;
  const v = view(parms);
  let rate = v.getUint32(8, HOST_LE);
  let peakrate = v.getUint32(20, HOST_LE);
  const rate64 = findAttr(children, TCA_TBF_RATE64);
  if (rate64 !== undefined && rate64.data.length >= 8) rate = Number(view(rate64).getBigUint64(0, HOST_LE));
  const prate64 = findAttr(children, TCA_TBF_PRATE64);
  if (prate64 !== undefined && prate64.data.length >= 8) peakrate = Number(view(prate64).getBigUint64(0, HOST_LE));
  const buffer = v.getUint32(28, HOST_LE);
  const burst = Math.round((buffer / PSCHED_TICKS_PER_USEC) * (rate / TIME_UNITS_PER_SEC));
  return { rate, limit: v.getUint32(24, HOST_LE), buffer, burst, mtu: v.getUint32(32, HOST_LE), peakrate };
}

/** How far a dumped burst may be from the asked one: the kernel keeps the bucket as ticks of 64 ns. */
export const tbfBurstTolerance = (rate: number): number => Math.ceil((rate * 64) / 1e9) + 1;
