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

t.test("joinRows: a host-port record joins its attachment's row, or makes one when its lease and veth are gone", async (t) => {
  const leases = [{ ip: "10.0.0.2", containerId: "live", ifName: "eth0", ageSeconds: 900 }];
  const records = [
    { containerId: "live", ifName: "eth0", ports: ["8080->80/tcp"], ageSeconds: 900 },
    { containerId: "gone", ifName: "net1", ports: ["127.0.0.1:53->53/udp"], ageSeconds: 900 },
    { containerId: "old", ifName: undefined, ports: ["9000->9000/tcp"], ageSeconds: 900 },
    { containerId: "fresh", ifName: "eth0", ports: ["81->80/tcp"], ageSeconds: 2 },
  ];
  const rows = joinRows(leases, new Map(), new Map([["live", "ready" as const]]), 60_000, records);
  const by = (id: string) => rows.find((r) => r.containerId === id);
  t.equal(rows.length, 4, "one row per attachment");
  t.same([by("live")?.hostPorts, by("live")?.ips, by("live")?.leaked], [["8080->80/tcp"], ["10.0.0.2"], false]);
  t.same([by("gone")?.ifName, by("gone")?.hostPorts, by("gone")?.ips, by("gone")?.leaked], ["net1", ["127.0.0.1:53->53/udp"], [], true], "a record alone is a leak");
  t.same([by("old")?.ifName, by("old")?.leaked], ["eth0", true], "a record without ifName (older format): eth0");
  t.same([by("fresh")?.leaked, by("fresh")?.leaseAgeSeconds], [false, 2], "a young record: maybe being created");
  t.same(joinRows(leases, new Map(), undefined, 0).map((r) => r.hostPorts), [[]], "no records: no host ports");
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
