// plugin/bandwidth/plan: from a BandwidthEntry (bits) to the two token buckets to install (bytes), with the
// reference bandwidth plugin's maths: rate/8, burst/8, limit = rate x 25 ms + burst; and the IFB's name
// (the reference's, so either plugin's DEL finds the other's device) and alias (how our GC knows it).
// Pure apart from hashing; imports core and native (constants and maths only).

import { createHash } from "node:crypto";
import type { BandwidthEntry } from "../../core/cni/bandwidth.js";
import { tbfLimitForLatency, type TbfParams } from "../../native/index.js";

/** The reference's latency: the queue holds 25 ms of traffic beyond the bucket. */
const LATENCY_USEC = 25_000;
const U32_MAX = 0xffffffff;

export interface ShapingPlan {
  /** Traffic into the pod: a TBF at the root of the host veth. */
  readonly ingress: TbfParams | undefined;
  /** Traffic out of the pod: redirected into the IFB, a TBF at its root. */
  readonly egress: TbfParams | undefined;
}

/**
 * One direction's TBF. The bucket is capped at what the kernel can hold as time (2^32 ns of the rate):
 * tc_tbf_qopt.buffer is clamped there (sch_tbf.c), which is also the bucket the Go reference ends up with
 * for a huge burst such as containerd's default of 2^32 - 1 bits; the limit keeps the reference's formula
 * (clamped to 32 bits instead of wrapping).
 */
export function tbfFor(rateBits: number, burstBits: number): TbfParams {
  const rate = Math.floor(rateBits / 8);
  const asked = Math.floor(burstBits / 8);
  const burst = Math.max(1, Math.min(asked, Math.floor((rate * U32_MAX) / 1e9)));
  return { rate, burst, limit: Math.min(U32_MAX, tbfLimitForLatency(rate, asked, LATENCY_USEC)) };
}

export function shapingPlan(bw: BandwidthEntry): ShapingPlan {
  return {
    ingress: bw.ingressRate > 0 && bw.ingressBurst > 0 ? tbfFor(bw.ingressRate, bw.ingressBurst) : undefined,
    egress: bw.egressRate > 0 && bw.egressBurst > 0 ? tbfFor(bw.egressRate, bw.egressBurst) : undefined,
  };
}

/** The reference's getIfbDeviceName: "bwp" + the first 12 hex digits of sha512(network + containerID). */
export function ifbDeviceName(network: string, containerId: string): string {
  return `bwp${createHash("sha512").update(network + containerId).digest("hex")}`.slice(0, 15);
}

export const IFB_ALIAS_PREFIX = "kubenet-bw:";

/** "kubenet-bw:<network>:<containerID>:<ifname>" on every IFB we make: GC removes only these. */
export function ifbAlias(network: string, containerId: string, ifName: string): string {
  return `${IFB_ALIAS_PREFIX}${network}:${containerId}:${ifName}`.slice(0, 255);
}
