import t from "tap";
import type { Link } from "../../native/index.js";
import { joinRows } from "./inventory.js";
import { parseAdminFlags } from "./main.js";

const veth = (name: string, peerNs: boolean): Link => ({
  index: 9, name, kind: "veth", flags: 0, up: true, mtu: 1500, mac: "", master: 3, parentIndex: 2,
  linkNetnsId: peerNs ? 0 : undefined, operstate: 6, promisc: false, hairpin: true, attrs: [],
});

t.test("joinRows: leases and veths per attachment; leaked only when the runtime answered, does not know it, and it is old", async (t) => {
  const leases = [
    { ip: "10.0.0.2", containerId: "live", ifName: "eth0", ageSeconds: 900 },
    { ip: "10.0.0.3", containerId: "gone", ifName: "eth0", ageSeconds: 900 },
    { ip: "10.0.0.4", containerId: "young", ifName: "eth0", ageSeconds: 5 },
  ];
  const veths = new Map([["live:eth0", veth("veth1", true)], ["orphan:eth1", veth("veth2", false)]]);
  const states = new Map([["live", "ready" as const]]);
  const rows = joinRows(leases, veths, states, 60_000);
  const by = (id: string) => rows.find((r) => r.containerId === id);
  t.same([by("live")?.leaked, by("live")?.runtime, by("live")?.netnsExists, by("live")?.veth], [false, "ready", true, "veth1"]);
  t.same([by("gone")?.leaked, by("gone")?.vethExists, by("gone")?.netnsExists], [true, false, undefined]);
  t.same([by("young")?.leaked, by("young")?.runtime], [false, "unknown"], "younger than minAge: maybe being created");
  t.same([by("orphan")?.leaked, by("orphan")?.ifName, by("orphan")?.ips], [true, "eth1", []], "a veth without a lease (listed first)");
  t.notOk(joinRows(leases, veths, undefined, 0).some((r) => r.leaked), "no runtime answer: nothing is leaked");
  t.ok(joinRows(leases, veths, undefined, 0).every((r) => r.runtime === "not-asked"));
});

t.test("parseAdminFlags", async (t) => {
  const d = parseAdminFlags("status", []);
  t.match(d, { json: false, confDir: "/etc/cni/net.d", criEndpoint: "unix:///run/containerd/containerd.sock", minAgeMs: 300_000, timeoutMs: 10_000 });
  t.match(parseAdminFlags("gc", ["--dry-run", "--min-age=0", "--timeout", "2s", "--json"]), { dryRun: true, minAgeMs: 0, timeoutMs: 2000, json: true });
  t.equal(parseAdminFlags("gc", ["--help"]), "help");
  t.throws(() => parseAdminFlags("status", ["--dry-run"]), /unknown argument "--dry-run" for kubenet status/);
  t.throws(() => parseAdminFlags("status", ["--min-age", "5"]), /invalid --min-age "5"/);
  t.throws(() => parseAdminFlags("status", ["--conf-dir"]), /--conf-dir needs a value/);
});
