// agent/masq/backend-choice: the iptables backend the agent uses, chosen once (flag, or detected as
// kube-proxy does) and never mixed afterwards, one Iptables per family, and whether MASQUERADE gets
// --random-fully (flag, or the iptables version). Async (runs the tools once at start).

import type { IpFamily } from "../../core/ip.js";
import type { AgentConfig } from "../config.js";
import type { HostDeps } from "../host.js";
import { describeError, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { M } from "../sync/metrics.js";
import { detectIptablesMode } from "./backend.js";
import { supportsRandomFully, type Iptables, type IptablesMode } from "./iptables.js";

export class IptablesBackend {
  #mode: IptablesMode | undefined;
  #randomFully = false;
  readonly #byFamily = new Map<IpFamily, Iptables>();

  /** Whether MASQUERADE rules carry --random-fully (decided by init). */
  get randomFully(): boolean {
    return this.#randomFully;
  }

  /** The tools of one family. @throws before init */
  of(family: IpFamily): Iptables {
    const ipt = this.#byFamily.get(family);
    if (ipt === undefined) throw new Error("The iptables backend is not chosen yet (init first)");
    return ipt;
  }

  /** Picks the backend and --random-fully; a second call does nothing. */
  async init(config: Pick<AgentConfig, "iptablesMode" | "randomFully">, host: HostDeps, log: Logger, metrics: Metrics): Promise<void> {
    if (this.#mode !== undefined) return;
    if (config.iptablesMode === "auto") {
      const decision = await detectIptablesMode(host.exec);
      this.#mode = decision.mode;
      log.info("iptables backend detected", { mode: decision.mode, reason: decision.reason });
    } else {
      this.#mode = config.iptablesMode;
      log.info("iptables backend set by flag", { mode: this.#mode });
    }
    for (const f of [4, 6] as const) this.#byFamily.set(f, host.createIptables(f, this.#mode));
    if (config.randomFully === "auto") {
      try {
        const version = await this.of(4).version();
        this.#randomFully = supportsRandomFully(version);
        log.info("iptables version", { version, randomFully: this.#randomFully });
      } catch (err) {
        this.#randomFully = false;
        log.warn("Cannot read the iptables version: MASQUERADE without --random-fully", { error: describeError(err) });
      }
    } else {
      this.#randomFully = config.randomFully === "on";
    }
    metrics.set(M.iptablesInfo[0], M.iptablesInfo[1], 1, { mode: this.#mode, random_fully: String(this.#randomFully) });
  }
}
