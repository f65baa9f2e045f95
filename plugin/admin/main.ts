// plugin/admin/main: the operator subcommands of the plugin executable, `kubenet status` and `kubenet gc`
// (plugin/main.ts dispatches here when argv names one and CNI_COMMAND is unset). Loaded only then: the CRI
// client (@grpc/grpc-js) never loads for a CNI command. Takes its I/O as parameters; returns the exit status
// (0 ok, 1 a release failed, 2 bad usage).

import { parseDuration } from "../../core/duration.js";
import { SkelLogger, type SkelIo } from "../skel.js";
import { collectInventory } from "./inventory.js";
import { gcText, runGc } from "./gc.js";
import { statusJson, statusText } from "./render.js";

export type AdminCommand = "status" | "gc";

const USAGE = `usage:
  kubenet status [--json] [flags]          the node's pod network: config, agent, bridge, ranges, one row per
                                           attachment (lease / host veth) with its sandbox's state in the runtime
  kubenet gc [--dry-run] [--json] [flags]  release what status flags LEAKED: the runtime answered, does not know
                                           the sandbox, and its lease is older than --min-age
flags:
  --conf-dir DIR          CNI config directory (default /etc/cni/net.d)
  --cri-endpoint URL      the runtime's CRI socket (default unix:///run/containerd/containerd.sock)
  --agent-url URL         the agent's health endpoint (default http://127.0.0.1:9970/healthz)
  --min-age DURATION      a lease younger than this is never leaked: its pod may be being created (default 5m)
  --timeout DURATION      per request to the runtime and the agent (default 10s)
`;

class UsageError extends Error {}

/** A duration flag's value in ms: a Go duration ("90s", "5m", "1m30s", "250ms", "0"), as the agent's flags take. */
function durationFlag(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new UsageError(`invalid --${flag} ${JSON.stringify(text)}: expected a duration such as "30s" or "5m"`);
  }
}

interface AdminFlags {
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly confDir: string;
  readonly criEndpoint: string;
  readonly agentUrl: string;
  readonly minAgeMs: number;
  readonly timeoutMs: number;
}

export function parseAdminFlags(command: AdminCommand, args: readonly string[]): AdminFlags | "help" {
  const values = new Map<string, string>();
  const booleans = new Set<string>();
  const valued = ["conf-dir", "cri-endpoint", "agent-url", "min-age", "timeout"];
  const bools = command === "gc" ? ["json", "dry-run", "help"] : ["json", "help"];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const [name, inline] = arg.startsWith("--") ? (arg.slice(2).split(/=(.*)/s) as [string, string | undefined]) : ["", undefined];
    if (bools.includes(name) && inline === undefined) booleans.add(name);
    else if (valued.includes(name)) {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      values.set(name, v);
    } else throw new UsageError(`unknown argument ${JSON.stringify(arg)} for kubenet ${command}`);
  }
  if (booleans.has("help")) return "help";
  return {
    json: booleans.has("json"),
    dryRun: booleans.has("dry-run"),
    confDir: values.get("conf-dir") ?? "/etc/cni/net.d",
    criEndpoint: values.get("cri-endpoint") ?? "unix:///run/containerd/containerd.sock",
    agentUrl: values.get("agent-url") ?? "http://127.0.0.1:9970/healthz",
    minAgeMs: durationFlag("min-age", values.get("min-age") ?? "5m"),
    timeoutMs: durationFlag("timeout", values.get("timeout") ?? "10s"),
  };
}

export async function adminMain(command: AdminCommand, args: readonly string[], io: SkelIo): Promise<number> {
  let flags: AdminFlags | "help";
  try {
    flags = parseAdminFlags(command, args);
  } catch (e) {
    io.writeStderr(`kubenet ${command}: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (flags === "help") {
    io.writeStdout(USAGE);
    return 0;
  }
  const inv = await collectInventory(flags);
  if (command === "status") {
    io.writeStdout(flags.json ? statusJson(inv) : statusText(inv));
    return 0;
  }
  const log = new SkelLogger(io);
  log.setPrefix("gc: ");
  const report = await runGc(inv, { dryRun: flags.dryRun, criEndpoint: flags.criEndpoint, timeoutMs: flags.timeoutMs, log, env: io.env });
  io.writeStdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : gcText(report));
  return report.outcomes.some((o) => o.action === "failed") ? 1 : 0;
}
