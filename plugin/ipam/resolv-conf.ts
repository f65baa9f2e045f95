// plugin/ipam/resolv-conf: host-local's `resolvConf` option: nameserver/domain/search/options lines of a
// resolv.conf-style file become the result's dns. Reads one file; synchronous.

import { readFileSync } from "node:fs";
import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { Dns } from "../../core/cni/result.js";

/** Parses resolv.conf text the way host-local does (comments "#"/";", one value per nameserver line). */
export function parseResolvConf(text: string): Dns {
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  let domain: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [key, ...values] = fields as [string, ...string[]];
    switch (key) {
      case "nameserver":
        nameservers.push(values[0]!);
        break;
      case "domain":
        domain = values[0]!;
        break;
      case "search":
        search.push(...values);
        break;
      case "options":
        options.push(...values);
        break;
    }
  }
  return {
    ...(nameservers.length ? { nameservers } : {}),
    ...(domain !== undefined ? { domain } : {}),
    ...(search.length ? { search } : {}),
    ...(options.length ? { options } : {}),
  };
}

export function readResolvConf(path: string): Dns {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CniError(
      CNI_ERROR_CODE.INVALID_NETWORK_CONFIG,
      `ipam.resolvConf ${q(path)} cannot be read: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return parseResolvConf(text);
}
