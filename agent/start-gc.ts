// agent/start-gc: wires the leaked-lease sweep (gc-sweep.ts) into a running agent: the plugin executable beside
// the agent's own (the single executable's directory, or dist/ for the bundles), the lease directory of the
// network the agent's conflist names, the PodCIDR(s) the agent is applying.

import { readdir } from "node:fs/promises";
import { isIP } from "node:net";
import { basename, dirname, join } from "node:path";
import { KUBENET_NETWORK } from "../core/cni/conflist.js";
import type { Agent } from "./agent.js";
import { DEFAULTS, type AgentConfig } from "./config.js";
import { GcSweeper } from "./gc-sweep.js";
import type { HostDeps } from "./host.js";
import { formatDuration } from "../core/duration.js";
import type { Logger } from "./log.js";

export interface StartGcOptions {
  readonly config: Omit<AgentConfig, "source">;
  readonly agent: Agent;
  readonly host: HostDeps;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** process.execPath and argv[1]: where the plugin is looked for by default. */
  readonly self: { readonly execPath: string; readonly script: string | undefined };
}

/** `kubenet` beside the agent: a single executable is its own execPath; a bundle is argv[1] run by node. */
export function defaultPluginPath(self: StartGcOptions["self"]): string {
  const agentFile = basename(self.execPath).startsWith("kubenet-agent") || self.script === undefined ? self.execPath : self.script;
  return join(dirname(agentFile), "kubenet");
}

export function startGcSweep(o: StartGcOptions): GcSweeper | undefined {
  const { config } = o;
  if (config.criEndpoint === undefined) {
    o.log.info("Leaked-lease sweep off (no --cri-endpoint)");
    return undefined;
  }
  const intervalMs = config.gcIntervalMs ?? DEFAULTS.gcIntervalMs;
  const sweeper = new GcSweeper(
    {
      criEndpoint: config.criEndpoint,
      gcIntervalMs: intervalMs,
      plugin: config.gcPlugin ?? defaultPluginPath(o.self),
      cniConfDir: config.cniConfDir,
      leaseDir: join(config.ipamDataDir, KUBENET_NETWORK),
      checkIntervalMs: config.resyncIntervalMs,
    },
    {
      exec: o.host.exec,
      log: o.log,
      metrics: o.agent.metrics,
      listLeases: async (dir) => (await readdir(dir).catch(() => [])).filter((n) => isIP(n) !== 0),
      podCidrs: () => o.agent.podCidrs,
    },
  );
  sweeper.run(o.signal, intervalMs !== 0);
  o.log.info("Leaked-lease sweep on", { criEndpoint: config.criEndpoint, interval: intervalMs === 0 ? "off (only when a range is full)" : formatDuration(intervalMs) });
  return sweeper;
}
