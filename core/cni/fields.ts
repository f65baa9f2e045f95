// core/cni/fields: typed readers of the fields of a config object, shared by the config parsers. Pure.
// A wrong JSON type is a decoding failure (6) naming the key path; a value that cannot be what the key
// means (not an IP address, ...) is an invalid network config (7).

import { CNI_ERROR_CODE, CniError, q } from "./errors.js";
import { parseIp, parseRequestedIp } from "../ip-parse.js";
import type { IpAddr } from "../ip.js";

export type Json = Record<string, unknown>;
export const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export const decodeError = (msg: string): CniError => new CniError(CNI_ERROR_CODE.DECODING_FAILURE, msg);
export const invalid = (msg: string): CniError => new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, msg);

export function optBool(o: Json, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw decodeError(`${path}${key} must be true or false, got ${q(v)}`);
  return v;
}

export function optInt(o: Json, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw decodeError(`${path}${key} must be an integer, got ${q(v)}`);
  return v;
}

export function optString(o: Json, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw decodeError(`${path}${key} must be a string, got ${q(v)}`);
  return v;
}

/**
 * A string value that must say something when present: "" (a template left blank), leading or trailing
 * whitespace (a stray newline from a template) and control characters are refused (7), never taken as
 * "absent" or trimmed, so a config means what it says. `dflt` names what leaving the key out gives.
 */
export function optText(o: Json, key: string, path: string, dflt: string): string | undefined {
  const v = optString(o, key, path);
  if (v === undefined) return undefined;
  const problem = textProblem(v);
  if (problem) throw invalid(`${path}${key} ${q(v)} ${problem}: ${v === "" ? `remove the key for the default (${dflt}) or set a value` : "remove it"}`);
  return v;
}

/** What makes `v` unusable as a name, path or enum value, or undefined. */
export function textProblem(v: string): string | undefined {
  if (v === "") return "is empty";
  if (/^\s|\s$/.test(v)) return "has leading or trailing whitespace";
  if (/[\x00-\x1f\x7f]/.test(v)) return "contains a control character";
  return undefined;
}

export function optObject(o: Json, key: string, path: string): Json | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw decodeError(`${path}${key} must be an object, got ${q(v)}`);
  return v;
}

export function optArray(o: Json, key: string, path: string): unknown[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw decodeError(`${path}${key} must be a list, got ${q(v)}`);
  return v;
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
/** Six hex pairs separated by ":", either case ("c2:11:22:33:44:55"): a MAC address as CNI keys write it. */
export const isMacText = (v: string): boolean => MAC_RE.test(v);
/** The group bit (lowest bit of the first octet) is set: a multicast address, never an interface's own. */
export const isMulticastMac = (mac: string): boolean => (parseInt(mac.slice(0, 2), 16) & 1) === 1;

export function ipAt(text: unknown, path: string): IpAddr {
  if (typeof text !== "string") throw decodeError(`${path} must be an IP address string, got ${q(text)}`);
  try {
    return parseIp(text);
  } catch {
    throw invalid(`${path} is not a valid IP address: ${q(text)}`);
  }
}

/** "10.1.2.3" or "10.1.2.3/24" (the prefix is ignored, as host-local does for requested IPs). */
export function requestedIpAt(text: unknown, path: string): IpAddr {
  if (typeof text !== "string") throw decodeError(`${path} must be an IP address string, got ${q(text)}`);
  try {
    return parseRequestedIp(text);
  } catch {
    throw invalid(`${path} is not a valid IP address or CIDR: ${q(text)}`);
  }
}
