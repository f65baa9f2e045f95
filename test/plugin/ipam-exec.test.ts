// dist/host-local run as a runtime runs it: ADD/DEL/CHECK/GC/STATUS against a temp dataDir, exact files,
// all versions, errors with codes, the lock timeout. No namespaces needed.

import { join } from "node:path";
import t from "tap";
import { acquireFileLock } from "../../native/index.js";
import { describeRun, errorOf } from "../support/plugin-harness.js";
import { fileMode, hlConf, leaseDir, ours, resultIps, tempDir } from "./ipam-support.js";

t.test("ADD in every version prints host-local's abbreviated result", async (t) => {
  const dataDir = tempDir(t);
  const ipam = { ranges: [[{ subnet: "10.50.0.0/24" }], [{ subnet: "fd50::/64" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd50::1" }] };
  const expected: Record<string, unknown> = {
    "0.1.0": { cniVersion: "0.1.0", ip4: { ip: "10.50.0.2/24", gateway: "10.50.0.1", routes: [{ dst: "0.0.0.0/0" }] }, ip6: { ip: "fd50::2/64", gateway: "fd50::1", routes: [{ dst: "::/0", gw: "fd50::1" }] }, dns: {} },
    "0.3.1": { cniVersion: "0.3.1", ips: [{ version: "4", address: "10.50.0.3/24", gateway: "10.50.0.1" }, { version: "6", address: "fd50::3/64", gateway: "fd50::1" }], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd50::1" }], dns: {} },
    "1.1.0": { cniVersion: "1.1.0", ips: [{ address: "10.50.0.4/24", gateway: "10.50.0.1" }, { address: "fd50::4/64", gateway: "fd50::1" }], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd50::1" }], dns: {} },
  };
  let i = 0;
  for (const [version, want] of Object.entries(expected)) {
    const r = ours({ command: "ADD", containerId: `c${i++}`, config: hlConf({ version, dataDir, ipam }) });
    t.equal(r.code, 0, `${version}: ${describeRun(r)}`);
    t.same(r.json, want, version);
    t.notMatch(r.stdout, /INFO|DEBUG/, "logs never on stdout");
  }
  const files = leaseDir(dataDir);
  t.same(Object.keys(files), ["10.50.0.2", "10.50.0.3", "10.50.0.4", "fd50::2", "fd50::3", "fd50::4", "last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
  t.equal(files["10.50.0.3"], "c1\r\neth0");
  t.equal(files["last_reserved_ip.1"], "fd50::4");
  t.equal(fileMode(join(dataDir, "ipamnet", "10.50.0.3")), "600");
  t.equal(fileMode(join(dataDir, "ipamnet", "lock")), "750");
});

t.test("DEL, CHECK, GC, STATUS through the executable", async (t) => {
  const dataDir = tempDir(t);
  const config = (v = "1.1.0", extra = {}) => hlConf({ version: v, dataDir, ipam: { subnet: "10.51.0.0/29" }, extra });
  for (const id of ["a", "b", "c", "d", "e"]) t.equal(ours({ command: "ADD", containerId: id, config: config() }).code, 0);
  const full = ours({ command: "ADD", containerId: "f", config: config() });
  t.equal(full.code, 1);
  t.equal(errorOf(full)?.code, 100);
  t.match(errorOf(full)?.msg, /no IP addresses available in range set 0 \(10.51.0.1-10.51.0.6\)/);

  const status = ours({ command: "STATUS", config: config() });
  t.equal(status.code, 1, "STATUS reports the exhausted pool");
  t.equal(errorOf(status)?.code, 50);
  t.match(errorOf(status)?.msg, /IP pool exhausted/);

  t.equal(ours({ command: "CHECK", containerId: "a", config: config("0.4.0") }).code, 0, "CHECK finds a's lease");
  const missing = ours({ command: "CHECK", containerId: "zz", config: config("0.4.0") });
  t.equal(errorOf(missing)?.code, 105);

  const del = ours({ command: "DEL", containerId: "b", config: config() });
  t.equal(del.code, 0, describeRun(del));
  t.equal(del.stdout, "", "DEL prints nothing");
  t.equal(ours({ command: "DEL", containerId: "b", config: config() }).code, 0, "DEL twice is fine");
  t.equal(ours({ command: "DEL", containerId: "b", netns: "", config: config() }).code, 0, "DEL without netns is fine");
  t.equal(ours({ command: "STATUS", config: config() }).code, 0, "a free address again");

  const gc = ours({ command: "GC", config: config("1.1.0", { "cni.dev/valid-attachments": [{ containerID: "a", ifname: "eth0" }], "cni.dev/attachments": [{ containerID: "c", ifname: "eth0" }] }) });
  t.equal(gc.code, 0, describeRun(gc));
  t.same(Object.keys(leaseDir(dataDir)), ["10.51.0.2", "10.51.0.4", "last_reserved_ip.0", "lock"], "only a and c keep their leases");
});

t.test("requested IP via CNI_ARGS; ADD and DEL for the same container on two interfaces", async (t) => {
  const dataDir = tempDir(t);
  const config = hlConf({ dataDir, ipam: { subnet: "10.52.0.0/24" } });
  const r = ours({ command: "ADD", containerId: "a", args: "IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.52.0.77", config });
  t.same(resultIps(r.json), ["10.52.0.77"], describeRun(r));
  const r2 = ours({ command: "ADD", containerId: "a", ifName: "net1", config });
  t.same(resultIps(r2.json), ["10.52.0.78"], "round robin continues after the requested one");
  const dup = ours({ command: "ADD", containerId: "a", config });
  t.equal(errorOf(dup)?.code, 107);
  t.equal(ours({ command: "DEL", containerId: "a", ifName: "net1", config }).code, 0);
  t.same(Object.keys(leaseDir(dataDir)).filter((f) => f.startsWith("10.")), ["10.52.0.77"]);
});

t.test("a held lock: ADD gives up with code 11 after lockTimeoutMs", async (t) => {
  const dataDir = tempDir(t);
  const config = hlConf({ dataDir, ipam: { subnet: "10.53.0.0/24" }, extra: { lockTimeoutMs: 300 } });
  t.equal(ours({ command: "ADD", containerId: "a", config }).code, 0);
  const lock = acquireFileLock(join(dataDir, "ipamnet", "lock"), { timeoutMs: 0 });
  t.teardown(() => lock.release());
  const r = ours({ command: "ADD", containerId: "b", config });
  t.equal(r.code, 1);
  t.equal(errorOf(r)?.code, 11, describeRun(r));
  t.match(errorOf(r)?.msg, /Timed out after 300 ms waiting for the lock/);
  t.comment(`gave up after ${Math.round(r.ms)} ms (lockTimeoutMs 300; the rest is process start-up on this machine)`);
  t.same(Object.keys(leaseDir(dataDir)).filter((f) => f.startsWith("10.")), ["10.53.0.2"], "nothing written");
  lock.release();
  t.same(resultIps(ours({ command: "ADD", containerId: "b", config }).json), ["10.53.0.3"]);
});
