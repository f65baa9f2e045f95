// test/plugin/bandwidth-support: helpers for the bandwidth tests: the kernel state of a pod's shaping read
// with `tc -j` / `ip -j` (the independent oracle), and configs asking for limits.

import type { TestNetns } from "../support/netns.js";
import { links } from "./datapath-support.js";

export interface TcQdisc {
  kind: string;
  handle?: string;
  root?: boolean;
  parent?: string;
  options?: { rate?: number; burst?: number; limit?: number; lat?: number };
}

export const qdiscs = (ns: TestNetns, dev: string): TcQdisc[] => JSON.parse(ns.exec("tc", ["-j", "qdisc", "show", "dev", dev]) || "[]") as TcQdisc[];

export interface TcFilterJson {
  kind: string;
  options?: { flowid?: string; actions?: { kind: string; mirred_action?: string; direction?: string; to_dev?: string }[] };
}

export const ingressFilters = (ns: TestNetns, dev: string): TcFilterJson[] =>
  (JSON.parse(ns.exec("tc", ["-j", "filter", "show", "dev", dev, "parent", "ffff:"]) || "[]") as TcFilterJson[]).filter((f) => f.options?.actions !== undefined);

export const ifbs = (ns: TestNetns): string[] => links(ns).filter((l) => l.linkinfo?.info_kind === "ifb").map((l) => l.ifname).sort();

/** The host veth of a pod: the host-side interface of the result that is neither the bridge nor an IFB. */
export function hostVethOf(result: unknown, bridge = "cbr0"): string {
  const r = result as { interfaces: { name: string; sandbox?: string }[] };
  const v = r.interfaces.find((i) => !i.sandbox && i.name !== bridge && !i.name.startsWith("bwp"));
  if (v === undefined) throw new Error(`no host veth in ${JSON.stringify(result)}`);
  return v.name;
}

/** runtimeConfig.bandwidth as containerd passes it (bits per second, bits). */
export function bandwidth(ingressMbit: number, egressMbit: number, burstBits = 1_000_000): Record<string, unknown> {
  const e = (mbit: number): { rate: number; burst: number } => ({ rate: mbit * 1_000_000, burst: mbit > 0 ? burstBits : 0 });
  return {
    runtimeConfig: {
      bandwidth: { ingressRate: e(ingressMbit).rate, ingressBurst: e(ingressMbit).burst, egressRate: e(egressMbit).rate, egressBurst: e(egressMbit).burst },
    },
  };
}
