// agent/sources/pod-cidrs: the node's PodCIDRs as a validated value, and the seam every PodCIDR source
// implements. Pure.

import { formatCidr, hasHostBits, netEqual, networkOf, type IpNet } from "../../core/ip.js";
import { parseCidr } from "../../core/ip-parse.js";

/** One network-form CIDR per family (at most two), in the order the Node lists them; never empty. */
export type PodCidrs = readonly IpNet[];

export class PodCidrError extends Error {
  override readonly name = "PodCidrError";
}

/**
 * Validates PodCIDR texts: each must parse, be network-aligned, and each family may appear once
 * (Kubernetes' dual-stack rule). @throws PodCidrError quoting the offending value
 */
export function parsePodCidrs(texts: readonly string[]): PodCidrs {
  if (texts.length === 0) throw new PodCidrError("No PodCIDR given");
  const out: IpNet[] = [];
  for (const text of texts) {
    let net: IpNet;
    try {
      net = parseCidr(text); // exactly as given: a list grammar (a flag, the static file) splits and trims first
    } catch (cause) {
      throw new PodCidrError(`Invalid PodCIDR ${JSON.stringify(text)}`, { cause });
    }
    if (hasHostBits(net)) {
      throw new PodCidrError(`PodCIDR ${JSON.stringify(text)} has host bits set: did you mean ${JSON.stringify(formatCidr(networkOf(net)))}?`);
    }
    if (out.some((o) => o.addr.family === net.addr.family)) {
      throw new PodCidrError(`PodCIDRs ${JSON.stringify(texts.join(","))} hold two IPv${net.addr.family} ranges: at most one per family is allowed`);
    }
    if (net.prefixLen > (net.addr.family === 4 ? 30 : 126)) {
      throw new PodCidrError(`PodCIDR ${JSON.stringify(text)} is too small for a gateway and pods`);
    }
    out.push(net);
  }
  return out;
}

export function samePodCidrs(a: PodCidrs | undefined, b: PodCidrs | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((n, i) => {
    const m = b[i];
    return m !== undefined && netEqual(n, m);
  });
}

export function formatPodCidrs(cidrs: PodCidrs | undefined): string {
  return cidrs === undefined ? "<none>" : cidrs.map(formatCidr).join(",");
}

/** A source of the node's PodCIDRs. */
export interface PodCidrSource {
  readonly kind: "static" | "kubernetes";
  /**
   * Starts watching (Kubernetes) in the background; `onChange` is called whenever the PodCIDRs change.
   * Returns when the source has stopped (after `signal` aborts).
   */
  run(onChange: () => void, signal: AbortSignal): Promise<void>;
  /** Resolves once the source has had its first answer (static: at once; Kubernetes: the first list). */
  synced(): Promise<void>;
  /** The PodCIDRs now; undefined while none is assigned (the node is not ready). @throws on a bad value */
  current(): Promise<PodCidrs | undefined>;
}

/** Extracts spec.podCIDRs (dual-stack) or else spec.podCIDR from a Node object; undefined when unset. */
export function podCidrTextsOfNode(node: unknown): string[] | undefined {
  const spec = (node as { spec?: { podCIDR?: unknown; podCIDRs?: unknown } } | null | undefined)?.spec;
  if (spec === undefined || spec === null) return undefined;
  if (Array.isArray(spec.podCIDRs) && spec.podCIDRs.length > 0 && spec.podCIDRs.every((c) => typeof c === "string")) {
    return spec.podCIDRs as string[];
  }
  if (typeof spec.podCIDR === "string" && spec.podCIDR !== "") return [spec.podCIDR];
  return undefined;
}
