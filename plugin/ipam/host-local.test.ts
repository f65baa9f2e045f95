import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { rejectsCni, throwsCni } from "../../test/support/assert-cni.js";
import { parseNetConf, type HostLocalIpamConf, type NetConf } from "../../core/cni/netconf.js";
import { formatCidr, formatIp } from "../../core/ip.js";
import { acquireFileLock, waitFileLock } from "../../native/index.js";
import type { Logger } from "../types.js";
import { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, hostLocalStatus } from "./host-local.js";
import { parseResolvConf } from "./resolv-conf.js";

process.umask(0o022);

const logs: string[] = [];
const log: Logger = {
  debug: (m) => void logs.push(`debug ${m}`),
  info: (m) => void logs.push(`info ${m}`),
  warn: (m) => void logs.push(`warn ${m}`),
  error: (m) => void logs.push(`error ${m}`),
};

function tempDir(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), "kubenet-ipam-"));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function conf(dataDir: string, ipam: Record<string, unknown>, extra: Record<string, unknown> = {}): { conf: NetConf; ipam: HostLocalIpamConf } {
  const c = parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "net1", type: "host-local", ipam: { type: "host-local", dataDir, ...ipam }, ...extra }), "host-local");
  if (c.ipam?.kind !== "host-local") throw new Error("not host-local");
  return { conf: c, ipam: c.ipam };
}

const add = (c: { conf: NetConf; ipam: HostLocalIpamConf }, id: string, ifName = "eth0", args: Record<string, string> = {}) =>
  hostLocalAdd({ ...c, owner: { containerId: id, ifName }, cniArgs: new Map(Object.entries(args)), log });
const del = (c: { conf: NetConf; ipam: HostLocalIpamConf }, id: string, ifName = "eth0") =>
  hostLocalDel({ ...c, owner: { containerId: id, ifName }, cniArgs: new Map(), log });
const check = (c: { conf: NetConf; ipam: HostLocalIpamConf }, id: string, ifName = "eth0") =>
  hostLocalCheck({ ...c, owner: { containerId: id, ifName }, cniArgs: new Map(), log });
const ips = (r: Awaited<ReturnType<typeof add>>) => r.ips.map((ip) => formatCidr(ip.address));
const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

t.test("on-disk format is host-local's, byte for byte", async (t) => {
  const d = tempDir(t);
  const c = conf(d, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/64" }]], routes: [{ dst: "0.0.0.0/0" }] });
  const r = await add(c, "0123456789abcdef");
  t.same(ips(r), ["10.1.2.2/24", "2001:db8:1::2/64"]);
  t.same(r.ips.map((ip) => ip.gateway && formatIp(ip.gateway)), ["10.1.2.1", "2001:db8:1::1"]);
  t.same(r.interfaces, [], "abbreviated result");
  t.equal(r.routes.length, 1);
  const dir = join(d, "net1");
  t.same(readdirSync(dir).sort(), ["10.1.2.2", "2001:db8:1::2", "last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
  t.equal(mode(dir), "755");
  t.equal(mode(join(dir, "lock")), "750");
  t.equal(readFileSync(join(dir, "lock"), "utf8"), "");
  for (const f of ["10.1.2.2", "2001:db8:1::2", "last_reserved_ip.0", "last_reserved_ip.1"]) t.equal(mode(join(dir, f)), "600", `${f} mode`);
  t.same(readFileSync(join(dir, "10.1.2.2")), Buffer.from("0123456789abcdef\r\neth0"));
  t.same(readFileSync(join(dir, "2001:db8:1::2")), Buffer.from("0123456789abcdef\r\neth0"));
  t.same(readFileSync(join(dir, "last_reserved_ip.0")), Buffer.from("10.1.2.2"));
  t.equal(statSync(join(dir, "10.1.2.2")).nlink, 1, "no second name left on the lease's inode");
  t.same(readFileSync(join(dir, "last_reserved_ip.1")), Buffer.from("2001:db8:1::2"));
});

t.test("a later range set failing releases the earlier ones", async (t) => {
  const d = tempDir(t);
  const c = conf(d, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00::/126" }]] });
  await add(c, "a");
  await add(c, "b"); // fd00::2, fd00::3 now taken
  await rejectsCni(t, () => add(c, "c"), 100, /failed to allocate for range 1: no IP addresses available in range set 1 \(fd00::1-fd00::3\)/);
  t.same(readdirSync(join(d, "net1")).filter((n) => /^10\./.test(n)).sort(), ["10.1.2.2", "10.1.2.3"], "c's IPv4 lease was given back");
  t.notOk(readdirSync(join(d, "net1")).some((n) => n.startsWith(".")), "no temp files left");
  t.equal(readFileSync(join(d, "net1", "last_reserved_ip.0"), "utf8"), "10.1.2.3", "round robin position restored");
});

t.test("requested IPs: CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips", async (t) => {
  const d = tempDir(t);
  const c = conf(d, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00::/64" }]] });
  t.same(ips(await add(c, "a", "eth0", { IP: "10.1.2.50,fd00::50/64" })), ["10.1.2.50/24", "fd00::50/64"]);
  const c2 = conf(d, { ranges: [[{ subnet: "10.1.2.0/24" }]] }, { args: { cni: { ips: ["10.1.2.60"] } } });
  t.same(ips(await add(c2, "b")), ["10.1.2.60/24"]);
  const c3 = conf(d, { ranges: [[{ subnet: "10.1.2.0/24" }]] }, { runtimeConfig: { ips: ["10.1.2.70/24"] } });
  t.same(ips(await add(c3, "c")), ["10.1.2.70/24"]);
  await rejectsCni(t, () => add(c3, "d"), 101, /requested IP address 10.1.2.70 is not available/);
  const c4 = conf(d, { ranges: [[{ subnet: "10.1.2.0/24" }]] }, { runtimeConfig: { ips: ["10.1.2.80", "10.9.9.9"] } });
  await rejectsCni(t, () => add(c4, "e"), 101, /failed to allocate all requested IPs: 10.9.9.9/);
  t.notOk(readdirSync(join(d, "net1")).includes("10.1.2.80"), "nothing leaked on failure");
  await rejectsCni(t, () => add(c, "f", "eth0", { IP: "10.1.2.x" }), 4, /CNI_ARGS: IP="10.1.2.x"/);
  await rejectsCni(t, () => add(c, "g", "eth0", { IP: "10.1.2.1" }), 101, /10.1.2.1 is the subnet's gateway/);
});

t.test("duplicate ADD is an error (host-local), another ifname is not", async (t) => {
  const d = tempDir(t);
  const c = conf(d, { subnet: "10.1.2.0/24" });
  await add(c, "a");
  await rejectsCni(t, () => add(c, "a"), 107, /10.1.2.2 has been allocated to a, duplicate allocation is not allowed/);
  t.same(ips(await add(c, "a", "net1")), ["10.1.2.3/24"]);
});

t.test("DEL: tolerant, walks the whole directory, legacy leases", async (t) => {
  const d = tempDir(t);
  const old = conf(d, { subnet: "10.1.2.0/24" });
  await add(old, "a");
  await add(old, "a", "net1");
  await add(old, "b");
  // The PodCIDR changed: DEL with the new ranges still finds a's lease in the old one.
  const now = conf(d, { subnet: "10.7.0.0/24" });
  await del(now, "a");
  t.same(readdirSync(join(d, "net1")).filter((n) => /^10\./.test(n)).sort(), ["10.1.2.3", "10.1.2.4"]);
  await del(now, "a");
  await del(now, "never-added");
  // Legacy (id only) lease: released when no exact (id, ifname) match exists.
  writeFileSync(join(d, "net1", "10.1.2.99"), "legacy-c", { mode: 0o600 });
  await del(now, "legacy-c");
  t.notOk(readdirSync(join(d, "net1")).includes("10.1.2.99"));
  // A missing data directory is fine.
  await del(conf(join(d, "nope"), { subnet: "10.1.2.0/24" }), "x");
});

t.test("CHECK", async (t) => {
  const d = tempDir(t);
  const c = conf(d, { subnet: "10.1.2.0/24" });
  await add(c, "a");
  await check(c, "a");
  await rejectsCni(t, () => check(c, "b"), 105, /failed to find an address leased to container "b" interface "eth0"/);
  const withPrev = conf(d, { subnet: "10.1.2.0/24" }, { prevResult: { ips: [{ address: "10.1.2.9/24" }] } });
  await rejectsCni(t, () => check(withPrev, "a"), 105, /address 10.1.2.9 from prevResult is not leased to container "a"/);
  const okPrev = conf(d, { subnet: "10.1.2.0/24" }, { prevResult: { ips: [{ address: "10.1.2.2/24" }, { address: "192.168.0.5/24" }] } });
  await check(okPrev, "a");
  writeFileSync(join(d, "net1", "10.1.2.99"), "legacy-c");
  await check(c, "legacy-c");
});

t.test("GC releases invalid, garbage and temp files; keeps valid ones", async (t) => {
  const d = tempDir(t);
  const c = conf(d, { subnet: "10.1.2.0/24" });
  await add(c, "keep");
  await add(c, "gone");
  await add(c, "keep", "eth1");
  const dir = join(d, "net1");
  writeFileSync(join(dir, "10.1.2.100"), ""); // host-local crashed between create and write
  writeFileSync(join(dir, "10.1.2.101"), "\u0000garbage\r\n");
  writeFileSync(join(dir, "10.1.2.102"), "keep"); // legacy lease of a valid container
  writeFileSync(join(dir, "10.1.2.103"), "dead"); // legacy lease of a dead one
  writeFileSync(join(dir, ".kubenet-tmp-999999999-1"), "keep\r\neth0"); // staged by a dead process
  writeFileSync(join(dir, `.kubenet-tmp-${process.ppid}-1`), "x\r\neth0"); // staged by a live one: not litter
  writeFileSync(join(dir, "README"), "not ours");
  await hostLocalGc(c.conf, c.ipam, [{ containerId: "keep", ifName: "eth0" }], log);
  t.same(readdirSync(dir).sort(), [`.kubenet-tmp-${process.ppid}-1`, "10.1.2.102", "10.1.2.2", "README", "last_reserved_ip.0", "lock"]);
  rmSync(join(dir, `.kubenet-tmp-${process.ppid}-1`));
  await hostLocalGc(c.conf, c.ipam, [], log);
  t.same(readdirSync(dir).sort(), ["README", "last_reserved_ip.0", "lock"]);
});

t.test("STATUS: 50 when a range set has no free address", async (t) => {
  const d = tempDir(t);
  const c = conf(d, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.9.0.0/29" }]] });
  hostLocalStatus(c.conf, c.ipam);
  for (let i = 0; i < 5; i++) await add(c, `c${i}`);
  throwsCni(t, () => hostLocalStatus(c.conf, c.ipam), 50, /IP pool exhausted: no free address in range set 1 \(10.9.0.1-10.9.0.6\)/);
  await del(c, "c3");
  hostLocalStatus(c.conf, c.ipam);
});

t.test("the lock: timeout -> LockTimeoutError (skel turns it into code 11), released after each operation", async (t) => {
  const d = tempDir(t);
  const c = conf(d, { subnet: "10.1.2.0/24" }, { lockTimeoutMs: 50 });
  await add(c, "a");
  const held = acquireFileLock(join(d, "net1", "lock"), { timeoutMs: 0 });
  t.teardown(() => held.release());
  await t.rejects(add(c, "b"), { name: "LockTimeoutError", timeoutMs: 50 }, "gave up after lockTimeoutMs");
  held.release();
  // The timed-out wait's flock arrives now and is dropped when its callback runs: wait for that, not 50 ms.
  const patient = conf(d, { subnet: "10.1.2.0/24" }, { lockTimeoutMs: 600_000 });
  t.same(ips(await add(patient, "b")), ["10.1.2.3/24"]);
  // The timed-out wait's flock may still arrive after this ADD; it is dropped at once, so the lock comes free.
  const again = await waitFileLock(join(d, "net1", "lock"), { timeoutMs: 600_000 });
  again.release();
  t.pass("lock free after ADD");
});

t.test("resolvConf", async (t) => {
  t.same(
    parseResolvConf("# c\n; c\nnameserver 10.0.0.10\nnameserver  10.0.0.11 \ndomain cluster.local\nsearch a.svc svc\noptions ndots:5 edns0\nbogus\n"),
    { nameservers: ["10.0.0.10", "10.0.0.11"], domain: "cluster.local", search: ["a.svc", "svc"], options: ["ndots:5", "edns0"] },
  );
  const d = tempDir(t);
  writeFileSync(join(d, "resolv.conf"), "nameserver 1.1.1.1\n");
  const c = conf(d, { subnet: "10.1.2.0/24", resolvConf: join(d, "resolv.conf") });
  t.same((await add(c, "a")).dns, { nameservers: ["1.1.1.1"] });
  const missing = conf(d, { subnet: "10.1.2.0/24", resolvConf: join(d, "nope") });
  await rejectsCni(t, () => add(missing, "b"), 7, /ipam.resolvConf ".*nope" cannot be read/);
});
