// core/cni/cni-args: the CNI_ARGS environment variable ("K=V;K=V"), parsed like the Go lib's LoadArgs.
// Pure. A pair without exactly one "=" is an error; keys a plugin does not know are an error unless
// IgnoreUnknown is 1/true (containerd always sends IgnoreUnknown=1); the values of the keys the plugins
// use (IP, MAC) are parsed strictly: never trimmed, never "" for absent. Errors are code 4.

import type { IpAddr } from "../ip.js";
import { parseRequestedIp } from "../ip-parse.js";
import { CNI_ERROR_CODE, CniError, q } from "./errors.js";
import { isMacText, isMulticastMac } from "./fields.js";

/**
 * Splits CNI_ARGS into a map (later duplicates win, as in the lib). Empty/undefined -> empty map.
 * @throws CniError INVALID_ENVIRONMENT_VARIABLES on a malformed pair or a bad IgnoreUnknown value
 */
export function parseCniArgs(text: string | undefined): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  if (text === undefined || text === "") return out;
  for (const pair of text.split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2 || kv[0] === "") {
      throw new CniError(
        CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES,
        `CNI_ARGS: invalid pair ${q(pair)}: expected KEY=VALUE pairs separated by ";" (got CNI_ARGS=${q(text)})`,
      );
    }
    out.set(kv[0]!, kv[1]!);
  }
  const ignore = out.get("IgnoreUnknown");
  if (ignore !== undefined) parseBoolArg("IgnoreUnknown", ignore);
  return out;
}

/** The lib's UnmarshallableBool: "1"/"true" and "0"/"false", case-insensitive. */
function parseBoolArg(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new CniError(
    CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES,
    `CNI_ARGS: ${key}=${q(value)} is not a boolean: use 1, 0, true or false`,
  );
}

/** Keys every plugin here understands: the lib's CommonArgs plus what Kubernetes runtimes send. */
const COMMON_CNI_ARGS: readonly string[] = [
  "IgnoreUnknown",
  "K8S_POD_NAMESPACE",
  "K8S_POD_NAME",
  "K8S_POD_INFRA_CONTAINER_ID",
  "K8S_POD_UID",
];

/**
 * Rejects keys outside `known` (plus COMMON_CNI_ARGS) unless IgnoreUnknown is true.
 * @throws CniError INVALID_ENVIRONMENT_VARIABLES naming the unknown pairs
 */
export function checkCniArgKeys(args: ReadonlyMap<string, string>, known: readonly string[]): void {
  const ignore = args.get("IgnoreUnknown");
  if (ignore !== undefined && parseBoolArg("IgnoreUnknown", ignore)) return;
  const unknown = [...args.keys()].filter((k) => !known.includes(k) && !COMMON_CNI_ARGS.includes(k));
  if (unknown.length > 0) {
    throw new CniError(
      CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES,
      `CNI_ARGS: unknown keys ${unknown.map((k) => q(k)).join(", ")}: known keys are ${[...known, ...COMMON_CNI_ARGS].join(", ")}; add IgnoreUnknown=1 to pass others`,
    );
  }
}

const envError = (msg: string): CniError => new CniError(CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES, msg);

/**
 * IP=: one address, or several separated by ",", each an IP or a CIDR (its prefix ignored, as host-local
 * does). Exactly that text: "IP=10.244.1.5\n" or "IP=" is an error, not a trimmed or an absent request.
 * @throws CniError 4 quoting the value and the bad item
 */
export function parseCniArgIps(value: string): IpAddr[] {
  if (value === "") throw envError(`CNI_ARGS: IP is empty: remove the pair, or give an address such as IP=10.244.1.5`);
  return value.split(",").map((text) => {
    try {
      return parseRequestedIp(text);
    } catch {
      throw envError(`CNI_ARGS: IP=${q(value)}: ${q(text)} is not an IP address (no spaces or empty items; e.g. IP=10.244.1.5)`);
    }
  });
}

/** MAC=: six hex pairs separated by ":" of a unicast address. @throws CniError 4 */
export function parseCniArgMac(value: string): string {
  if (!isMacText(value)) {
    throw envError(`CNI_ARGS: MAC=${q(value)} is not a MAC address like "c2:11:22:33:44:55"`);
  }
  if (isMulticastMac(value)) throw envError(`CNI_ARGS: MAC=${q(value)} is a multicast address: a container interface needs a unicast one`);
  return value.toLowerCase();
}

/** Checks the values of the keys the plugins read (before anything is made). @throws CniError 4 */
export function checkCniArgValues(args: ReadonlyMap<string, string>): void {
  const ip = args.get("IP");
  if (ip !== undefined) parseCniArgIps(ip);
  const mac = args.get("MAC");
  if (mac !== undefined) parseCniArgMac(mac);
}
