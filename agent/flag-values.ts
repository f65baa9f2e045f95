// agent/flag-values: the agent's flag values, from text to typed values (durations, bounded integers, one of
// a set, CIDR lists, listen addresses, the CNI service socket). Pure; every mistake is a UsageError that
// quotes the flag and the value, so the agent refuses to start instead of misbehaving later.

import { agentSocketProblem } from "../core/cni/peek.js";
import { formatCidr, hasHostBits, networkOf, type IpNet } from "../core/ip.js";
import { parseCidr } from "../core/ip-parse.js";
import { DEFAULTS, type ListenAddress } from "./config.js";
import { pathProblem } from "../core/cni/limits.js";
import { formatDuration, MAX_TIMER_MS, parseDuration } from "../core/duration.js";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Typed readers of flag values; each mistake is a UsageError quoting the flag and its value. */
export type FlagReaders = ReturnType<typeof flagReaders>;

export function flagReaders(flags: Map<string, string>) {
  const str = (name: string): string | undefined => flags.get(name);
  const oneOf = <T extends string>(name: string, allowed: readonly T[], dflt: T): T => {
    const v = flags.get(name);
    if (v === undefined) return dflt;
    if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`Invalid --${name} ${JSON.stringify(v)}: expected ${allowed.join(", ")}`);
    return v as T;
  };
  /** A duration flag of at least `min` ms (0 also, with `zero`: "off") and at most the longest timer. */
  const duration = (name: string, { min = 100, zero = false }: { min?: number; zero?: boolean } = {}): number | undefined => {
    const v = flags.get(name);
    if (v === undefined) return undefined;
    let ms: number;
    try {
      ms = parseDuration(v);
    } catch (cause) {
      throw new UsageError(`Invalid --${name} ${JSON.stringify(v)}: expected a duration such as "60s" or "500ms"${zero ? ", or 0" : ""}`, { cause });
    }
    if (ms < min && !(zero && ms === 0)) throw new UsageError(`Invalid --${name} ${JSON.stringify(v)}: must be ${zero ? "0 or " : ""}at least ${formatDuration(min)}`);
    // A Node timer fires a longer delay after 1 ms: the loop would spin.
    if (ms > MAX_TIMER_MS) throw new UsageError(`Invalid --${name} ${JSON.stringify(v)}: must be at most ${MAX_TIMER_MS}ms (about 24.8 days, the longest timer)`);
    return ms;
  };
  const int = (name: string, min: number, max: number): number | undefined => {
    const v = flags.get(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new UsageError(`Invalid --${name} ${JSON.stringify(v)}: expected a whole number from ${min} to ${max}`);
    }
    return Number(v);
  };
  return { str, oneOf, duration, int };
}

/**
 * A directory the plugin or the runtime reads from the conflist: absolute, and exactly as written (a blank
 * or a stray space would reach every pod's config, where the plugin refuses it).
 */
export function pathFlag(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const problem = pathProblem(v);
  if (problem !== undefined) throw new UsageError(`Invalid --${name} ${JSON.stringify(v)}: ${v === "" ? "is empty" : problem}`);
  return v;
}

export function cidrList(flag: string, text: string | undefined): IpNet[] {
  if (text === undefined || text.trim() === "") return [];
  return text.split(",").map((t) => {
    let net: IpNet;
    try {
      net = parseCidr(t.trim());
    } catch (cause) {
      throw new UsageError(`Invalid --${flag} ${JSON.stringify(t)}: not a CIDR`, { cause });
    }
    if (hasHostBits(net)) throw new UsageError(`Invalid --${flag} ${JSON.stringify(t)}: host bits set, did you mean ${formatCidr(networkOf(net))}?`);
    return net;
  });
}

/** "127.0.0.1:9970", "[::1]:9970", "off" (or "") => no server. */
export function parseListen(text: string | undefined): ListenAddress | undefined {
  if (text === undefined) return DEFAULTS.listen;
  if (text === "" || text === "off") return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) throw new UsageError(`Invalid --listen ${JSON.stringify(text)}: expected HOST:PORT, [IPv6]:PORT or "off"`);
  return { host: m[1] ?? (m[2] === "" ? "127.0.0.1" : (m[2] ?? "127.0.0.1")), port };
}

/** --cni-socket: an absolute path (at most 107 bytes: sockaddr_un), or "off". */
export function parseCniSocket(text: string | undefined): string | undefined {
  if (text === undefined) return DEFAULTS.cniSocket;
  if (text === "off") return undefined;
  const problem = agentSocketProblem(text);
  if (problem !== undefined) throw new UsageError(`Invalid --cni-socket ${JSON.stringify(text)}: ${problem}`);
  return text;
}
