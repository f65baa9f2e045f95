// agent/masq/ip-masq-config: ip-masq-agent's config file (the same keys, YAML or JSON) parsed into a
// validated, immutable MasqConfig. Pure. The file is optional: absent or empty means "defaults", and a
// present `nonMasqueradeCIDRs` replaces the default set (as in ip-masq-agent), see `desired.ts`.

import { formatCidr, hasHostBits, networkOf, type IpNet } from "../../core/ip.js";
import { parseCidr } from "../../core/ip-parse.js";
import { MAX_TIMER_MS, parseDuration } from "../../core/duration.js";
import { parseYamlSubset, type YamlValue } from "./yaml-subset.js";

/** ip-masq-agent's limit on the number of nonMasqueradeCIDRs (link-local not counted). */
const CIDR_LIMIT = 64;

export interface MasqConfig {
  /** undefined = key absent: use the agent's defaults (cluster CIDR, else the PodCIDR). */
  readonly nonMasqueradeCidrs: readonly IpNet[] | undefined;
  /** false (default): 169.254.0.0/16 is not masqueraded. */
  readonly masqLinkLocal: boolean;
  /** false (default): fe80::/10 is not masqueraded. */
  readonly masqLinkLocalIpv6: boolean;
  /** undefined = key absent: the agent's --resync-interval applies. */
  readonly resyncIntervalMs: number | undefined;
}

export const DEFAULT_MASQ_CONFIG: MasqConfig = {
  nonMasqueradeCidrs: undefined,
  masqLinkLocal: false,
  masqLinkLocalIpv6: false,
  resyncIntervalMs: undefined,
};

export class MasqConfigError extends Error {
  override readonly name = "MasqConfigError";
}

type RawValue = string | boolean | readonly string[];

/**
 * Parses an ip-masq-agent config (JSON when it starts with "{", else the YAML subset of yaml-subset.ts).
 * Unknown keys are rejected, so a typo cannot silently fall back to the defaults.
 * @throws MasqConfigError quoting the offending key or value
 */
export function parseMasqConfig(text: string): MasqConfig {
  const raw = text.trimStart().startsWith("{") ? fromJson(text) : fromYaml(text);
  let cfg: MasqConfig = DEFAULT_MASQ_CONFIG;
  for (const [key, value] of raw) {
    switch (key) {
      case "nonMasqueradeCIDRs":
        cfg = { ...cfg, nonMasqueradeCidrs: parseCidrList(value) };
        break;
      case "masqLinkLocal":
        cfg = { ...cfg, masqLinkLocal: parseBool(key, value) };
        break;
      case "masqLinkLocalIPv6":
        cfg = { ...cfg, masqLinkLocalIpv6: parseBool(key, value) };
        break;
      case "resyncInterval": {
        if (typeof value !== "string") throw new MasqConfigError(`Invalid resyncInterval ${JSON.stringify(value)}: expected a duration such as "60s"`);
        let ms: number;
        try {
          ms = parseDuration(value);
        } catch (cause) {
          throw new MasqConfigError(`Invalid resyncInterval ${JSON.stringify(value)}: expected a duration such as "60s"`, { cause });
        }
        if (ms < 100) throw new MasqConfigError(`Invalid resyncInterval ${JSON.stringify(value)}: must be at least 100ms`);
        if (ms > MAX_TIMER_MS) throw new MasqConfigError(`Invalid resyncInterval ${JSON.stringify(value)}: must be at most ${MAX_TIMER_MS}ms (about 24.8 days, the longest timer)`);
        cfg = { ...cfg, resyncIntervalMs: ms };
        break;
      }
      default:
        throw new MasqConfigError(
          `Unknown key ${JSON.stringify(key)}: expected nonMasqueradeCIDRs, masqLinkLocal, masqLinkLocalIPv6 or resyncInterval`,
        );
    }
  }
  return cfg;
}

function parseCidrList(value: RawValue): IpNet[] {
  if (!Array.isArray(value)) throw new MasqConfigError(`Invalid nonMasqueradeCIDRs ${JSON.stringify(value)}: expected a list of CIDRs`);
  const list = value as readonly string[];
  if (list.length > CIDR_LIMIT) {
    throw new MasqConfigError(`Too many nonMasqueradeCIDRs: ${list.length} given, at most ${CIDR_LIMIT} allowed`);
  }
  return list.map((text) => {
    let net: IpNet;
    try {
      net = parseCidr(text);
    } catch (cause) {
      throw new MasqConfigError(`Invalid CIDR ${JSON.stringify(text)} in nonMasqueradeCIDRs`, { cause });
    }
    if (hasHostBits(net)) {
      throw new MasqConfigError(`CIDR ${JSON.stringify(text)} in nonMasqueradeCIDRs is not aligned to a CIDR block: did you mean ${JSON.stringify(formatCidr(networkOf(net)))}?`);
    }
    return net;
  });
}

function parseBool(key: string, value: RawValue): boolean {
  if (typeof value === "boolean") return value;
  throw new MasqConfigError(`Invalid ${key} ${JSON.stringify(value)}: expected true or false`);
}

function fromJson(text: string): Map<string, RawValue> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new MasqConfigError("Cannot parse the masquerade config as JSON", { cause });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new MasqConfigError("Invalid masquerade config: expected a JSON object");
  }
  const out = new Map<string, RawValue>();
  for (const [key, value] of Object.entries(doc)) {
    if (typeof value === "string" || typeof value === "boolean") out.set(key, value);
    else if (Array.isArray(value) && value.every((v): v is string => typeof v === "string")) out.set(key, value);
    else throw new MasqConfigError(`Invalid ${key} ${JSON.stringify(value)}: expected a string, a boolean or a list of strings`);
  }
  return out;
}

function fromYaml(text: string): Map<string, RawValue> {
  let doc: Map<string, YamlValue>;
  try {
    doc = parseYamlSubset(text);
  } catch (cause) {
    throw new MasqConfigError(`Cannot parse the masquerade config as YAML: ${(cause as Error).message}`, { cause });
  }
  const out = new Map<string, RawValue>();
  for (const [key, value] of doc) {
    if (Array.isArray(value)) {
      out.set(key, (value as readonly { text: string }[]).map((s) => s.text));
    } else {
      const s = value as { text: string; quoted: boolean };
      const lower = s.text.toLowerCase();
      // YAML 1.2 core booleans; a quoted "true" stays a string, as in YAML.
      if (!s.quoted && /^(true|false|True|False|TRUE|FALSE)$/.test(s.text)) {
        out.set(key, lower === "true");
      } else {
        out.set(key, s.text);
      }
    }
  }
  return out;
}
