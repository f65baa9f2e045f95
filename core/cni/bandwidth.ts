// core/cni/bandwidth: the bandwidth keys of a network configuration, with the reference `bandwidth`
// plugin's semantics: static top-level ingressRate/ingressBurst/egressRate/egressBurst (bits per second,
// bits) win over runtimeConfig.bandwidth (what a runtime passes for the "bandwidth" capability, e.g.
// containerd from the kubernetes.io/ingress-bandwidth annotations); a rate needs its burst and the other
// way round; a burst of 4 GB or more is refused. Pure; imports ./errors, ./fields and ./go-json.

import { q, type CniError } from "./errors.js";
import { decodeError, invalid as invalidConfig, isObj, type Json } from "./fields.js";
import { goField } from "./go-json.js";

/** Rates in bits per second, bursts in bits; 0 = no limit in that direction. */
export interface BandwidthEntry {
  readonly ingressRate: number;
  readonly ingressBurst: number;
  readonly egressRate: number;
  readonly egressBurst: number;
}

const BANDWIDTH_KEYS = ["ingressRate", "ingressBurst", "egressRate", "egressBurst"] as const;

const U32_MAX = 0xffffffff;

/** A non-negative integer of bits (JSON numbers are exact up to 2^53). @throws CniError 6 */
function bits(o: Json, key: string, path: string): number {
  // As Go's encoding/json: containerd sends runtimeConfig.bandwidth as {"IngressRate", ...} (go-json.ts).
  const v = goField(o, key);
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw decodeError(
      `${path}${key} must be a non-negative integer (${key.endsWith("Rate") ? "bits per second" : "bits"}) up to ${Number.MAX_SAFE_INTEGER}, got ${q(v)}`,
    );
  }
  return v;
}

function entryOf(o: Json, path: string): BandwidthEntry {
  return {
    ingressRate: bits(o, "ingressRate", path),
    ingressBurst: bits(o, "ingressBurst", path),
    egressRate: bits(o, "egressRate", path),
    egressBurst: bits(o, "egressBurst", path),
  };
}

/** The reference's validateRateAndBurst, plus: under 8 bits a rate or a burst is 0 bytes, which the kernel refuses. */
function validate(rate: number, burst: number, dir: "ingress" | "egress", where: string): void {
  const invalid = (msg: string): CniError => invalidConfig(`${where}: ${msg}`);
  if (burst === 0 && rate !== 0) throw invalid(`if rate is set, burst must also be set (${dir}Rate ${rate}, ${dir}Burst 0)`);
  if (rate === 0 && burst !== 0) throw invalid(`if burst is set, rate must also be set (${dir}Burst ${burst}, ${dir}Rate 0)`);
  if (Math.floor(burst / 8) >= U32_MAX) throw invalid(`burst cannot be more than 4GB (${dir}Burst ${burst} bits)`);
  if (rate !== 0 && rate < 8) throw invalid(`${dir}Rate ${rate} is less than 8 bits per second (one byte): use at least 8`);
  if (burst !== 0 && burst < 8) throw invalid(`${dir}Burst ${burst} is less than 8 bits (one byte): use at least 8`);
}

/**
 * The bandwidth to apply, or undefined when the config has none. Static keys (any of the four present at
 * the top level) win over runtimeConfig.bandwidth, as in the reference plugin.
 * @throws CniError 6 (wrong JSON type) / 7 (rate without burst, burst without rate, burst >= 4 GB)
 */
export function parseBandwidth(raw: Json, runtimeConfig: Json): BandwidthEntry | undefined {
  let entry: BandwidthEntry | undefined;
  let where = "";
  if (BANDWIDTH_KEYS.some((k) => raw[k] !== undefined && raw[k] !== null)) {
    entry = entryOf(raw, "");
    where = "bandwidth (static keys)";
  } else {
    const rc = runtimeConfig["bandwidth"];
    if (rc === undefined || rc === null) return undefined;
    if (!isObj(rc)) throw decodeError(`runtimeConfig.bandwidth must be an object like {"ingressRate":10000000,"ingressBurst":1000000}, got ${q(rc)}`);
    entry = entryOf(rc, "runtimeConfig.bandwidth.");
    where = "runtimeConfig.bandwidth";
  }
  validate(entry.ingressRate, entry.ingressBurst, "ingress", where);
  validate(entry.egressRate, entry.egressBurst, "egress", where);
  return entry;
}

/** No limit in either direction (the reference then passes prevResult through untouched). */
export function bandwidthIsZero(bw: BandwidthEntry | undefined): boolean {
  return bw === undefined || (bw.ingressRate === 0 && bw.ingressBurst === 0 && bw.egressRate === 0 && bw.egressBurst === 0);
}
