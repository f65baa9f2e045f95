// agent/routes/peers: the cluster's other nodes as host-gw sees them: a name, PodCIDR(s) and internal
// address(es), read from a Node object (spec.podCIDRs, status.addresses of type InternalIP) or from a
// static peers file. Pure. A node whose fields are unusable becomes a Peer carrying `problem`, so the
// planner can report it instead of dropping it silently.

import { type IpAddr } from "../../core/ip.js";
import { parseIp } from "../../core/ip-parse.js";
import { parsePodCidrs, podCidrTextsOfNode, type PodCidrs } from "../sources/pod-cidrs.js";

export interface Peer {
  readonly name: string;
  /** Empty while the node has no PodCIDR assigned (nothing to route yet). */
  readonly podCidrs: PodCidrs;
  readonly internalIps: readonly IpAddr[];
  /** Why this peer cannot be routed although it is listed (bad PodCIDR or address text). */
  readonly problem?: string;
}

export class PeersFileError extends Error {
  override readonly name = "PeersFileError";
}

/** A Node object -> Peer; undefined when the object has no name. Never throws. */
export function peerOfNode(node: unknown): Peer | undefined {
  const n = node as { metadata?: { name?: unknown }; status?: { addresses?: unknown } } | null | undefined;
  const name = n?.metadata?.name;
  if (typeof name !== "string" || name === "") return undefined;
  const addresses = Array.isArray(n?.status?.addresses) ? (n.status.addresses as unknown[]) : [];
  const ipTexts = addresses
    .filter((a): a is { type: string; address: string } => typeof (a as { type?: unknown })?.type === "string" && typeof (a as { address?: unknown })?.address === "string")
    .filter((a) => a.type === "InternalIP")
    .map((a) => a.address);
  return buildPeer(name, podCidrTextsOfNode(node) ?? [], ipTexts);
}

function buildPeer(name: string, cidrTexts: readonly string[], ipTexts: readonly string[]): Peer {
  let podCidrs: PodCidrs = [];
  const problems: string[] = [];
  if (cidrTexts.length > 0) {
    try {
      podCidrs = parsePodCidrs(cidrTexts);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const internalIps: IpAddr[] = [];
  for (const text of ipTexts) {
    try {
      internalIps.push(parseIp(text));
    } catch {
      problems.push(`invalid InternalIP ${JSON.stringify(text)}`);
    }
  }
  return problems.length === 0 ? { name, podCidrs, internalIps } : { name, podCidrs, internalIps, problem: problems.join("; ") };
}

/** A Kubernetes node name: a DNS-1123 subdomain. */
const NODE_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function unknownKey(o: Record<string, unknown>, known: readonly string[], where: string): void {
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  if (extra.length > 0) throw new PeersFileError(`Unknown key ${JSON.stringify(extra[0])} in ${where}: expected ${known.join(", ")}`);
}

/**
 * The static peers file: `{"nodes":[{"name":"w2","podCIDRs":["172.20.2.0/24"],"internalIPs":["10.0.1.167"]}]}`.
 * The file's shape must be right (else nothing is trusted and the routes stay as they are); a node with a
 * bad CIDR or address becomes a Peer with `problem`.
 * @throws PeersFileError quoting the path
 */
export function parsePeersFile(text: string, path: string): Peer[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new PeersFileError(`Cannot parse the peers file ${JSON.stringify(path)} as JSON`, { cause });
  }
  const nodes = (doc as { nodes?: unknown } | null)?.nodes;
  const shape = `expected {"nodes":[{"name":"w2","podCIDRs":["172.20.2.0/24"],"internalIPs":["10.0.1.167"]}]}`;
  if (!Array.isArray(nodes)) throw new PeersFileError(`Invalid peers file ${JSON.stringify(path)}: ${shape}`);
  // A misspelt key ("podCIDR", "internalIP") would silently leave a node without routes: refused.
  unknownKey(doc as Record<string, unknown>, ["nodes"], `peers file ${JSON.stringify(path)}`);
  const seen = new Set<string>();
  return nodes.map((entry: unknown, i) => {
    const e = entry as { name?: unknown; podCIDRs?: unknown; internalIPs?: unknown } | null;
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
    if (typeof e?.name !== "string" || e.name === "" || !strings(e.podCIDRs ?? []) || !strings(e.internalIPs ?? [])) {
      throw new PeersFileError(`Invalid entry ${i} in peers file ${JSON.stringify(path)}: ${shape}`);
    }
    unknownKey(e, ["name", "podCIDRs", "internalIPs"], `entry ${i} of peers file ${JSON.stringify(path)}`);
    if (!NODE_NAME_RE.test(e.name) || e.name.length > 253) {
      throw new PeersFileError(`Invalid node name ${JSON.stringify(e.name)} in entry ${i} of peers file ${JSON.stringify(path)}: a Kubernetes node name (lower-case letters, digits, "-" and ".")`);
    }
    if (seen.has(e.name)) throw new PeersFileError(`Node ${JSON.stringify(e.name)} listed twice in peers file ${JSON.stringify(path)}`);
    seen.add(e.name);
    return buildPeer(e.name, (e.podCIDRs ?? []) as string[], (e.internalIPs ?? []) as string[]);
  });
}
