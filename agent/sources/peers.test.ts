// The all-Nodes peer source (host-gw) over a scripted list/watch: list, events, heartbeats that change
// nothing routing cares about, DELETED, 410 => relist that drops nodes gone meanwhile; the peers file.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { formatIp } from "../../core/ip.js";
import { nullLogger } from "../log.js";
import { createNodesPeerSource, createPeersFileSource } from "./peers.js";
import type { ListWatchApi } from "./reflector.js";

const node = (name: string, rv: string, cidr: string | undefined, ip: string, extra: object = {}): unknown => ({
  metadata: { name, resourceVersion: rv },
  spec: cidr === undefined ? {} : { podCIDR: cidr, podCIDRs: [cidr] },
  status: { addresses: [{ type: "InternalIP", address: ip }], ...extra },
});

t.test("nodes peer source: list, ADDED/MODIFIED/DELETED, heartbeats ignored, 410 relist", async (t) => {
  const calls: string[] = [];
  const lists = [
    { items: [node("w1", "1", "172.20.1.0/24", "10.0.1.71"), node("w2", "1", "172.20.2.0/24", "10.0.1.167")], resourceVersion: "10" },
    { items: [node("w1", "30", "172.20.1.0/24", "10.0.1.71")], resourceVersion: "30" },
  ];
  const streams: [string, unknown][][] = [
    [
      ["MODIFIED", node("w2", "11", "172.20.2.0/24", "10.0.1.167", { conditions: [{ type: "Ready", lastHeartbeatTime: "now" }] })],
      ["ADDED", node("w3", "12", undefined, "10.0.1.200")],
      ["MODIFIED", node("w3", "13", "172.20.3.0/24", "10.0.1.200")],
      ["DELETED", node("w3", "14", "172.20.3.0/24", "10.0.1.200")],
      ["ERROR", { kind: "Status", code: 410 }],
    ],
  ];
  const api: ListWatchApi = {
    async list() {
      calls.push("list");
      const l = lists.shift();
      if (l === undefined) return new Promise(() => undefined);
      return l;
    },
    async watch(rv, onEvent, signal) {
      calls.push(`watch@${rv}`);
      const s = streams.shift();
      if (s === undefined) return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      for (const [type, obj] of s) onEvent(type, obj);
    },
  };
  const source = createNodesPeerSource({ api, log: nullLogger, sleep: async () => undefined, now: () => 0 });
  const snapshots: string[][] = [];
  const ac = new AbortController();
  const done = source.run(async () => {
    snapshots.push((await source.current()).map((p) => `${p.name}:${p.podCidrs.length}:${p.internalIps.map(formatIp).join()}`).sort());
  }, ac.signal);
  await source.synced();
  for (let i = 0; i < 200 && calls.length < 4; i++) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await done;
  t.same(calls.slice(0, 4), ["list", "watch@10", "list", "watch@30"], "410 => relist");
  t.same(snapshots, [
    ["w1:1:10.0.1.71", "w2:1:10.0.1.167"],
    ["w1:1:10.0.1.71", "w2:1:10.0.1.167", "w3:0:10.0.1.200"],
    ["w1:1:10.0.1.71", "w2:1:10.0.1.167", "w3:1:10.0.1.200"],
    ["w1:1:10.0.1.71", "w2:1:10.0.1.167"],
    ["w1:1:10.0.1.71"],
  ], "a change per routing change; the heartbeat made none; the relist dropped w2");
  t.equal(source.stats?.relists, 1);
});

t.test("peers file source: re-read at every call; a missing file is an error", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kt-peers-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "peers.json");
  const source = createPeersFileSource(path);
  await t.rejects(source.current(), /Cannot read the peers file/);
  writeFileSync(path, '{"nodes":[{"name":"w2","podCIDRs":["172.20.2.0/24"],"internalIPs":["10.0.1.167"]}]}');
  t.same((await source.current()).map((p) => p.name), ["w2"]);
  writeFileSync(path, '{"nodes":[]}');
  t.same(await source.current(), []);
});
