// plugin/admin/gc: `kubenet gc` releases what `kubenet status` flags as leaked, one attachment at a time through
// our own CNI DEL (lease, host veth, masquerade chain, host-port chain and record: keyed by container ID +
// ifname, so pods being added meanwhile are never touched, unlike a CNI GC with a valid-attachment list). Just
// before each release the runtime is asked again about that one sandbox: a sandbox it knows by then (created
// meanwhile) is skipped.

import type { GcOutcome, GcReport } from "../../core/cri/gc-report.js";
import { openCri } from "../../native/index.js";
import { cmdDel } from "../commands/del.js";
import type { Logger, PluginContext } from "../types.js";
import type { AttachmentRow, Inventory } from "./inventory.js";

export interface GcOptions {
  readonly dryRun: boolean;
  readonly criEndpoint: string;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const outcome = (a: AttachmentRow, action: GcOutcome["action"], detail: string): GcOutcome => ({
  containerId: a.containerId, ifName: a.ifName, ips: a.ips, veth: a.veth, action, detail,
});

export async function runGc(inv: Inventory, o: GcOptions): Promise<GcReport> {
  const leaked = inv.attachments.filter((a) => a.leaked);
  const conf = inv.conf;
  if (!inv.runtime.answered || conf === undefined || leaked.length === 0) {
    return { dryRun: o.dryRun, runtimeAnswered: inv.runtime.answered, released: 0, outcomes: [] };
  }
  if (o.dryRun) {
    return { dryRun: true, runtimeAnswered: true, released: 0, outcomes: leaked.map((a) => outcome(a, "would-release", "the runtime does not know this sandbox")) };
  }
  const ctx: PluginContext = { log: o.log, env: o.env, stdinBytes: Buffer.from(JSON.stringify({ cniVersion: conf.cniVersion, name: conf.name })) };
  const cri = await openCri(inv.runtime.endpoint, { timeoutMs: o.timeoutMs });
  const outcomes: GcOutcome[] = [];
  try {
    for (const a of leaked) {
      try {
        // Asked again right now: the listing is a few hundred ms old.
        if ((await cri.listPodSandbox(a.containerId)).length > 0) {
          outcomes.push(outcome(a, "skipped", "the runtime knows this sandbox now"));
          continue;
        }
        await cmdDel({ command: "DEL", containerId: a.containerId, ifName: a.ifName, netns: undefined, cniArgs: new Map(), cniPath: [], conf }, ctx);
        outcomes.push(outcome(a, "released", `lease, host veth${a.hostPorts.length > 0 ? `, host ports (${a.hostPorts.join(",")})` : ""} and masquerade rules released`));
      } catch (e) {
        outcomes.push(outcome(a, "failed", e instanceof Error ? e.message : String(e)));
      }
    }
  } finally {
    cri.close();
  }
  return { dryRun: false, runtimeAnswered: true, released: outcomes.filter((x) => x.action === "released").length, outcomes };
}

export function gcText(r: GcReport): string {
  if (!r.runtimeAnswered) return "the runtime did not answer: nothing released (a sandbox it cannot vouch for may still be running)\n";
  if (r.outcomes.length === 0) return "nothing leaked\n";
  const lines = r.outcomes.map((x) => `${x.action.padEnd(13)} ${x.containerId.slice(0, 13)} ${x.ifName} ${x.ips.join(",") || "-"} ${x.veth ?? "-"}: ${x.detail}`);
  return `${lines.join("\n")}\n${r.dryRun ? `${r.outcomes.length} would be released (dry run)` : `${r.released} released`}\n`;
}
