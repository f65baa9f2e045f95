// agent/masq/config-file: the ip-masq-agent config file, re-read every sync and parsed only when its text
// changed. An unreadable or invalid file keeps `error` set (the masq step then leaves the rules as they
// are, ip-masq-agent's rule); an absent file means the defaults. Async (reads the file).

import { readFile } from "node:fs/promises";
import { formatCidr } from "../../core/ip.js";
import type { Logger } from "../log.js";
import { DEFAULT_MASQ_CONFIG, parseMasqConfig, type MasqConfig } from "./ip-masq-config.js";

export class MasqConfigFile {
  readonly #path: string | undefined;
  readonly #log: Logger;
  /** The text last parsed (undefined: file absent); #loaded tells whether there was one. */
  #text: string | undefined;
  #loaded = false;
  config: MasqConfig = DEFAULT_MASQ_CONFIG;
  error: Error | undefined;

  constructor(path: string | undefined, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /** Re-reads the file; parses it only when its content changed. `defaultResyncMs` is for the log line. */
  async reload(defaultResyncMs: number): Promise<void> {
    const path = this.#path;
    if (path === undefined) return;
    let text: string | undefined;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.error = new Error(`Cannot read the masquerade config ${JSON.stringify(path)}`, { cause: err });
        this.#loaded = false;
        return;
      }
    }
    if (this.#loaded && text === this.#text) return;
    this.#loaded = true;
    this.#text = text;
    try {
      this.config = text === undefined ? DEFAULT_MASQ_CONFIG : parseMasqConfig(text);
      this.error = undefined;
      this.#log.info(text === undefined ? "No masquerade config file: using defaults" : "Masquerade config loaded", {
        path,
        nonMasqueradeCIDRs: this.config.nonMasqueradeCidrs?.map(formatCidr) ?? "default",
        masqLinkLocal: this.config.masqLinkLocal,
        masqLinkLocalIPv6: this.config.masqLinkLocalIpv6,
        resyncIntervalMs: this.config.resyncIntervalMs ?? defaultResyncMs,
      });
    } catch (err) {
      this.error = new Error(`Invalid masquerade config ${JSON.stringify(path)}`, { cause: err });
    }
  }
}
