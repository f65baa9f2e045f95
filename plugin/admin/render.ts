// plugin/admin/render: `kubenet status` for a terminal (aligned text) and for scripts (JSON). Pure.

import type { Inventory } from "./inventory.js";

export function statusJson(inv: Inventory): string {
  const { conf: _conf, ...rest } = inv;
  return `${JSON.stringify(rest, null, 2)}\n`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ").trimEnd()).join("\n");
}

const yesNo = (v: boolean | undefined): string => (v === undefined ? "-" : v ? "yes" : "no");

export function statusText(inv: Inventory): string {
  const lines: string[] = [];
  const head: string[][] = [
    ["network", inv.network === undefined ? `none: no kubenet/bridge config in ${inv.confDir}` : `${inv.network} (${inv.confFile})`],
    ["podCIDR", inv.podCidrs.join(", ") || "-"],
    ["agent", `${inv.agent.healthy ? "healthy" : "NOT HEALTHY"}: ${inv.agent.url} ${inv.agent.detail}`],
    ["runtime", `${inv.runtime.endpoint} ${inv.runtime.detail}`],
  ];
  if (inv.bridge !== undefined) {
    const b = inv.bridge;
    head.push(["bridge", b.exists ? `${b.name} ${b.up ? "up" : "DOWN"} ${b.addresses.join(" ") || "(no address)"}` : `${b.name} absent (the first ADD creates it)`]);
  }
  for (const r of inv.ranges) head.push(["range", `${r.range}: ${r.used} used, ${r.free} free of ${r.capacity}`]);
  lines.push(table(head), "");
  if (inv.attachments.length === 0) {
    lines.push("no attachments");
  } else {
    const rows = [["CONTAINER", "IF", "IPS", "VETH", "VETH?", "NETNS?", "HOSTPORTS", "LEASE AGE", "RUNTIME", ""]];
    for (const a of inv.attachments) {
      rows.push([
        a.containerId.slice(0, 13),
        a.ifName,
        a.ips.join(",") || "-",
        a.veth ?? "-",
        yesNo(a.vethExists),
        yesNo(a.netnsExists),
        a.hostPorts.join(",") || "-",
        a.leaseAgeSeconds === undefined ? "-" : `${a.leaseAgeSeconds}s`,
        a.runtime,
        a.leaked ? "LEAKED" : "",
      ]);
    }
    lines.push(table(rows));
    const leaked = inv.attachments.filter((a) => a.leaked).length;
    if (leaked > 0) lines.push("", `${leaked} leaked attachment(s): \`kubenet gc --dry-run\` shows what \`kubenet gc\` would release`);
  }
  if (!inv.runtime.answered) lines.push("", "the runtime did not answer: nothing is flagged leaked (use --cri-endpoint)");
  return `${lines.join("\n")}\n`;
}
