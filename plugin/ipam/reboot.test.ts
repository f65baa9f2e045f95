// reclaimAfterReboot: leases of a previous boot are released by the first ADD of the next one. The current
// boot ID comes from a file in a temp dir (the IPAM layer's bootIdPath), the recorded one from the lease dir.

import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { rejectsCni, throwsCni } from "../../test/support/assert-cni.js";
import { parseNetConf, type HostLocalIpamConf, type NetConf } from "../../core/cni/netconf.js";
import { formatCidr } from "../../core/ip.js";
import type { Logger } from "../types.js";
import { BOOT_ID_FILE, parseBootId, readKernelBootId } from "./boot-id.js";
import { hostLocalAdd, hostLocalDel, hostLocalStatus } from "./host-local.js";

process.umask(0o022);

const BOOT_A = "0b0c0a6e-1111-4222-8333-444455556666";
const BOOT_B = "9f8e7d6c-aaaa-4bbb-8ccc-ddddeeeeffff";

interface Env {
  readonly dataDir: string;
  readonly dir: string;
  readonly bootIdPath: string;
  readonly logs: string[];
  readonly log: Logger;
  boot(id: string): void;
}

function env(t: Test): Env {
  const dataDir = mkdtempSync(join(tmpdir(), "kubenet-reboot-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const bootIdPath = join(dataDir, "boot_id");
  const logs: string[] = [];
  const line = (level: string) => (m: string, f?: Readonly<Record<string, unknown>>) => void logs.push(`${level} ${m} ${JSON.stringify(f ?? {})}`);
  const e: Env = {
    dataDir,
    dir: join(dataDir, "net1"),
    bootIdPath,
    logs,
    log: { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") },
    boot: (id) => writeFileSync(bootIdPath, `${id}\n`), // as the kernel prints it
  };
  e.boot(BOOT_A);
  return e;
}

type Conf = { conf: NetConf; ipam: HostLocalIpamConf };

function conf(e: Env, ipam: Record<string, unknown>, type = "kubenet"): Conf {
  const c = parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "net1", type, ipam: { type: "host-local", dataDir: e.dataDir, ...ipam } }), "kubenet");
  if (c.ipam?.kind !== "host-local") throw new Error("not host-local");
  return { conf: c, ipam: c.ipam };
}

const add = async (e: Env, c: Conf, id: string) =>
  (await hostLocalAdd({ ...c, owner: { containerId: id, ifName: "eth0" }, cniArgs: new Map(), log: e.log, bootIdPath: e.bootIdPath })).ips.map((ip) =>
    formatCidr(ip.address),
  );
const status = (e: Env, c: Conf) => hostLocalStatus(c.conf, c.ipam, { log: e.log, bootIdPath: e.bootIdPath });
const files = (e: Env) => readdirSync(e.dir).sort();
const recorded = (e: Env) => readFileSync(join(e.dir, BOOT_ID_FILE), "utf8");

t.test("parseBootId / readKernelBootId", async (t) => {
  t.equal(parseBootId(`${BOOT_A}\n`), BOOT_A);
  t.equal(parseBootId(BOOT_A.toUpperCase()), BOOT_A);
  for (const bad of ["", "\n", "garbage", `${BOOT_A}x`, BOOT_A.replaceAll("-", "")]) t.equal(parseBootId(bad), undefined, JSON.stringify(bad));
  t.equal(readKernelBootId("/nonexistent/boot_id"), undefined);
  const real = readKernelBootId();
  if (real !== undefined) t.match(real, /^[0-9a-f-]{36}$/, "this machine's boot ID");
});

t.test("the first ADD records the boot; more ADDs in the same boot release nothing", async (t) => {
  const e = env(t);
  const c = conf(e, { subnet: "10.1.2.0/24" });
  t.equal(c.ipam.reclaimAfterReboot, true, "on by default for the kubenet type");
  t.same(await add(e, c, "a"), ["10.1.2.2/24"]);
  t.equal(recorded(e), BOOT_A, "no newline");
  t.equal((statSync(join(e.dir, BOOT_ID_FILE)).mode & 0o7777).toString(8), "600");
  t.same(await add(e, c, "b"), ["10.1.2.3/24"]);
  t.same(files(e), ["10.1.2.2", "10.1.2.3", BOOT_ID_FILE, "last_reserved_ip.0", "lock"], "no temp file left");
  t.notOk(e.logs.some((l) => l.includes("previous boot")));
});

t.test("after a reboot the first ADD releases every old lease, allocates, and records the new boot", async (t) => {
  const e = env(t);
  const c = conf(e, { ranges: [[{ subnet: "10.1.2.0/29" }], [{ subnet: "fd00:1::/125" }]] });
  for (const id of ["a", "b", "c", "d", "e"]) await add(e, c, id); // .2-.6: the /29 is full
  writeFileSync(join(e.dir, "10.1.2.7"), "legacy-id"); // outside the range (a changed PodCIDR), legacy form
  writeFileSync(join(e.dir, "fd00:1::7"), ""); // empty lease of a crashed host-local
  await rejectsCni(t, () => add(e, c, "f"), 100, /no IP addresses available in range set 0/);

  e.boot(BOOT_B);
  t.same(await add(e, c, "new"), ["10.1.2.2/29", "fd00:1::7/125"], "round robin continues after last_reserved_ip (kept)");
  t.same(files(e), ["10.1.2.2", "fd00:1::7", BOOT_ID_FILE, "last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
  t.equal(readFileSync(join(e.dir, "10.1.2.2"), "utf8"), "new\r\neth0");
  t.equal(recorded(e), BOOT_B);
  const released = e.logs.filter((l) => l.startsWith("info released a lease from a previous boot"));
  t.equal(released.length, 12, "each old lease logged");
  t.ok(released.some((l) => l.includes("10.1.2.6 e/eth0") && l.includes(BOOT_A)), "with its owner and the old boot");
  t.ok(released.some((l) => l.includes("10.1.2.7 legacy-id")));
  t.ok(released.some((l) => l.includes("fd00:1::7 (empty or unreadable)")));
  t.ok(e.logs.some((l) => l.startsWith("info reclaimed the leases of a previous boot") && l.includes('"count":12')));

  e.logs.length = 0;
  t.same(await add(e, c, "next"), ["10.1.2.3/29", "fd00:1::2/125"], "same boot again: nothing released");
  t.same(files(e), ["10.1.2.2", "10.1.2.3", "fd00:1::2", "fd00:1::7", BOOT_ID_FILE, "last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
  t.notOk(e.logs.some((l) => l.includes("previous boot")));
});

t.test("a failed ADD after a reboot still reclaims (the old leases were dead anyway)", async (t) => {
  const e = env(t);
  const c = conf(e, { subnet: "10.1.2.0/24" });
  await add(e, c, "a");
  e.boot(BOOT_B);
  await rejectsCni(
    t,
    () => hostLocalAdd({ ...c, owner: { containerId: "b", ifName: "eth0" }, cniArgs: new Map([["IP", "10.1.2.1"]]), log: e.log, bootIdPath: e.bootIdPath }),
    101,
    /gateway/,
  );
  t.same(files(e), [BOOT_ID_FILE, "last_reserved_ip.0", "lock"]);
  t.equal(recorded(e), BOOT_B);
});

t.test("drop-in types default off: nothing released, nothing recorded", async (t) => {
  for (const type of ["host-local", "bridge"]) {
    const e = env(t);
    const c = conf(e, { subnet: "10.1.2.0/24" }, type);
    t.equal(c.ipam.reclaimAfterReboot, false, type);
    await add(e, c, "a");
    writeFileSync(join(e.dir, BOOT_ID_FILE), BOOT_B); // e.g. written by a kubenet type sharing the directory
    await add(e, c, "b");
    t.same(files(e), ["10.1.2.2", "10.1.2.3", BOOT_ID_FILE, "last_reserved_ip.0", "lock"], `${type}: leases kept`);
    t.equal(recorded(e), BOOT_B, `${type}: record untouched`);
    const on = conf(e, { subnet: "10.1.2.0/24", reclaimAfterReboot: true }, type);
    t.same(await add(e, on, "c"), ["10.1.2.4/24"], `${type} with the key set: round robin continues`);
    t.same(files(e), ["10.1.2.4", BOOT_ID_FILE, "last_reserved_ip.0", "lock"], `${type} with the key set: reclaimed`);
  }
});

t.test("reclaimAfterReboot: false on the kubenet type", async (t) => {
  const e = env(t);
  const c = conf(e, { subnet: "10.1.2.0/24", reclaimAfterReboot: false });
  await add(e, c, "a");
  t.same(files(e), ["10.1.2.2", "last_reserved_ip.0", "lock"]);
});

t.test("a missing, empty or garbled record is unknown: rewritten, nothing released", async (t) => {
  for (const [what, content] of [["missing", undefined], ["empty", ""], ["garbage", "not a boot id\n"], ["truncated", BOOT_A.slice(0, 20)]] as const) {
    const e = env(t);
    const off = conf(e, { subnet: "10.1.2.0/24", reclaimAfterReboot: false });
    await add(e, off, "old"); // a lease from before the upgrade to reclaimAfterReboot (this boot or not: unknowable)
    if (content !== undefined) writeFileSync(join(e.dir, BOOT_ID_FILE), content);
    e.boot(BOOT_B);
    await add(e, conf(e, { subnet: "10.1.2.0/24" }), "new");
    t.same(files(e), ["10.1.2.2", "10.1.2.3", BOOT_ID_FILE, "last_reserved_ip.0", "lock"], `${what}: nothing released`);
    t.equal(recorded(e), BOOT_B, `${what}: recorded`);
  }
});

t.test("an unreadable kernel boot ID: nothing released, nothing recorded", async (t) => {
  const e = env(t);
  const c = conf(e, { subnet: "10.1.2.0/24" });
  await add(e, c, "a");
  for (const bad of ["", "garbage"]) {
    writeFileSync(e.bootIdPath, bad);
    await add(e, c, `b${bad}`);
  }
  rmSync(e.bootIdPath);
  await add(e, c, "c");
  t.same(files(e), ["10.1.2.2", "10.1.2.3", "10.1.2.4", "10.1.2.5", BOOT_ID_FILE, "last_reserved_ip.0", "lock"]);
  t.equal(recorded(e), BOOT_A);
});

t.test("DEL of a reclaimed pod after its address went to a new pod leaves the new lease alone", async (t) => {
  const e = env(t);
  const c = conf(e, { subnet: "10.1.2.0/30" }); // one address: .2
  await add(e, c, "old");
  e.boot(BOOT_B);
  t.same(await add(e, c, "new"), ["10.1.2.2/30"]);
  await hostLocalDel({ ...c, owner: { containerId: "old", ifName: "eth0" }, cniArgs: new Map(), log: e.log });
  t.equal(readFileSync(join(e.dir, "10.1.2.2"), "utf8"), "new\r\neth0");
});

t.test("STATUS: a pool full of a previous boot's leases is ready (the next ADD frees it)", async (t) => {
  const e = env(t);
  const c = conf(e, { subnet: "10.1.2.0/29" });
  for (const id of ["a", "b", "c", "d", "e"]) await add(e, c, id);
  throwsCni(t, () => status(e, c), 50, /IP pool exhausted/, "same boot: exhausted");
  e.boot(BOOT_B);
  status(e, c);
  t.ok(e.logs.some((l) => l.startsWith("info 5 leases from a previous boot will be reclaimed at the next ADD")));
  t.equal(files(e).filter((f) => f.startsWith("10.")).length, 5, "STATUS releases nothing");
  t.equal(recorded(e), BOOT_A, "STATUS records nothing");

  const off = conf(e, { subnet: "10.1.2.0/29", reclaimAfterReboot: false });
  throwsCni(t, () => status(e, off), 50, /IP pool exhausted/, "reclaim off: exhausted");
  rmSync(join(e.dir, BOOT_ID_FILE));
  throwsCni(t, () => status(e, c), 50, /IP pool exhausted/, "no record: exhausted (ADD would not reclaim)");
});
