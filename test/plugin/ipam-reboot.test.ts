// Leases that leaked across a node reboot (pain point 2): the lease directory persists, the pods'
// namespaces do not, no DEL ever comes. A reboot is simulated exactly where production looks: the
// `kubenet-boot-id` file in the lease directory is rewritten to another boot's ID (and, for the kubenet
// type, every namespace of the "previous boot" is destroyed). Interop: Debian's host-local in a directory
// holding kubenet-boot-id.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { describeRun, errorOf } from "../support/plugin-harness.js";
import { cni, containerId, kubenetConf, leaseOwner, leases, ok, resultIps, tempDir } from "./datapath-support.js";
import { REF_SKIP, hlConf, leaseDir, ours, resultIps as hlIps, theirs } from "./ipam-support.js";

const BOOT_ID_FILE = "kubenet-boot-id";
const PREVIOUS_BOOT = "00000000-1111-4222-8333-444444444444";
const thisBoot = (): string => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();

/** What a reboot leaves behind in a lease directory: the same files, recorded under another boot. */
function simulateReboot(dir: string): void {
  writeFileSync(join(dir, BOOT_ID_FILE), PREVIOUS_BOOT);
}

t.test("kubenet type: a /29 filled before a reboot serves the first pod after it", { skip: KERNEL_SKIP }, async (t) => {
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.86.0.0/29" }); // .2-.6: five pods
  const dir = join(dataDir, "kubenet");

  const before = createNetns(t, "host");
  const oldPods = Array.from({ length: 5 }, () => ({ ns: createNetns(t, "ctr"), id: containerId() }));
  for (const p of oldPods) ok(cni("ADD", { host: before, netns: p.ns.path, id: p.id, config }));
  t.same(leases(dataDir), ["10.86.0.2", "10.86.0.3", "10.86.0.4", "10.86.0.5", "10.86.0.6"]);
  t.equal(readFileSync(join(dir, BOOT_ID_FILE), "utf8"), thisBoot(), "the first ADD recorded the boot");
  const extra = createNetns(t, "ctr");
  const full = cni("ADD", { host: before, netns: extra.path, id: containerId(), config });
  t.equal(errorOf(full)?.code, 100, `exhausted: ${describeRun(full)}`);
  t.equal(errorOf(cni("STATUS", { host: before, netns: undefined, id: "", config }))?.code, 50, "STATUS: exhausted");

  // The reboot: every namespace (bridge, veths, pods) is gone, the lease directory stays, no DEL comes.
  before.destroy();
  for (const p of oldPods) p.ns.destroy();
  simulateReboot(dir);
  const after = createNetns(t, "host");

  const status = cni("STATUS", { host: after, netns: undefined, id: "", config });
  t.equal(status.code, 0, `STATUS: ready, the old leases will be reclaimed: ${describeRun(status)}`);
  t.match(status.stderr, /5 leases from a previous boot will be reclaimed at the next ADD/);
  t.equal(leases(dataDir).length, 5, "STATUS released nothing");

  const pod = createNetns(t, "ctr");
  const id = containerId();
  const add = ok(cni("ADD", { host: after, netns: pod.path, id, config }));
  t.same(resultIps(add.json), ["10.86.0.2/29"], "round robin wraps to the first address");
  t.same(leases(dataDir), ["10.86.0.2"], "only the new pod's lease");
  t.equal(leaseOwner(dataDir, "10.86.0.2"), `${id}\r\neth0`);
  t.equal(readFileSync(join(dir, BOOT_ID_FILE), "utf8"), thisBoot(), "this boot recorded");
  t.equal(readFileSync(join(dir, "last_reserved_ip.0"), "utf8"), "10.86.0.2");
  for (const p of oldPods.slice(0, 2)) t.match(add.stderr, new RegExp(`released a lease from a previous boot.*${p.id}/eth0`), "logged with its owner");

  // Late DELs for the dead pods (a runtime cleaning up its old sandboxes) are fine and touch nothing.
  for (const p of oldPods) ok(cni("DEL", { host: after, netns: undefined, id: p.id, config }));
  t.same(leases(dataDir), ["10.86.0.2"]);
  const second = ok(cni("ADD", { host: after, netns: createNetns(t, "ctr").path, id: containerId(), config }));
  t.same(resultIps(second.json), ["10.86.0.3/29"], "same boot: nothing more released");
  t.equal(leases(dataDir).length, 2);
});

t.test("host-local drop-in: off by default, on with ipam.reclaimAfterReboot", async (t) => {
  const fill = (ipam: Record<string, unknown>) => {
    const dataDir = tempDir(t);
    const config = hlConf({ dataDir, ipam: { subnet: "10.87.0.0/29", ...ipam } });
    for (let i = 0; i < 5; i++) t.equal(ours({ command: "ADD", containerId: `old${i}`, config }).code, 0);
    return { dataDir, config, dir: join(dataDir, "ipamnet") };
  };

  const off = fill({});
  t.notOk(readdirSync(off.dir).includes(BOOT_ID_FILE), "the drop-in records nothing by default");
  simulateReboot(off.dir);
  t.equal(errorOf(ours({ command: "ADD", containerId: "new", config: off.config }))?.code, 100, "default: still exhausted, as the reference");
  t.equal(errorOf(ours({ command: "STATUS", config: { ...off.config, cniVersion: "1.1.0" } }))?.code, 50);

  const on = fill({ reclaimAfterReboot: true });
  t.equal(readFileSync(join(on.dir, BOOT_ID_FILE), "utf8"), thisBoot());
  t.equal(errorOf(ours({ command: "STATUS", config: { ...on.config, cniVersion: "1.1.0" } }))?.code, 50, "same boot: exhausted");
  simulateReboot(on.dir);
  t.equal(ours({ command: "STATUS", config: { ...on.config, cniVersion: "1.1.0" } }).code, 0, "after the reboot: ready");
  const add = ours({ command: "ADD", containerId: "new", config: on.config });
  t.same(hlIps(add.json), ["10.87.0.2"], describeRun(add));
  t.same(
    Object.keys(leaseDir(on.dataDir)),
    ["10.87.0.2", BOOT_ID_FILE, "last_reserved_ip.0", "lock"],
    "the old leases are gone, last_reserved_ip kept",
  );

  const bad = ours({ command: "ADD", containerId: "x", config: hlConf({ dataDir: on.dataDir, ipam: { subnet: "10.87.0.0/29", reclaimAfterReboot: "yes" } }) });
  t.equal(errorOf(bad)?.code, 6, describeRun(bad));
  t.match(errorOf(bad)?.msg, /ipam\.reclaimAfterReboot must be true or false, got "yes"/);
});

t.test("Debian's host-local works in a directory holding kubenet-boot-id", { skip: REF_SKIP }, async (t) => {
  const dataDir = tempDir(t);
  const config = hlConf({ dataDir, ipam: { subnet: "10.88.0.0/24" } });
  const withKey = hlConf({ dataDir, ipam: { subnet: "10.88.0.0/24", reclaimAfterReboot: true } });
  t.equal(ours({ command: "ADD", containerId: "ours-a", config: withKey }).code, 0);
  const recorded = leaseDir(dataDir)[BOOT_ID_FILE];
  t.equal(recorded, thisBoot());

  const b = theirs({ command: "ADD", containerId: "theirs-b", config });
  t.same(hlIps(b.json), ["10.88.0.3"], describeRun(b));
  t.equal(theirs({ command: "CHECK", containerId: "theirs-b", config: { ...config, cniVersion: "0.4.0" } }).code, 0);
  // Their DEL reads every file in the directory (not only IP names) and compares its content: ours is
  // not a match for a container ID / ifname pair.
  t.equal(theirs({ command: "DEL", containerId: "theirs-b", config }).code, 0);
  t.equal(theirs({ command: "DEL", containerId: "ours-a", config }).code, 0, "their DEL of our lease");
  t.same(Object.keys(leaseDir(dataDir)), [BOOT_ID_FILE, "last_reserved_ip.0", "lock"]);
  t.equal(leaseDir(dataDir)[BOOT_ID_FILE], recorded, "kubenet-boot-id untouched");
  const c = theirs({ command: "ADD", containerId: "theirs-c", config });
  t.same(hlIps(c.json), ["10.88.0.4"], "their round robin is unaffected");
  t.equal(ours({ command: "ADD", containerId: "ours-d", config: withKey }).code, 0, "same boot: their lease is kept");
  t.same(Object.keys(leaseDir(dataDir)), ["10.88.0.4", "10.88.0.5", BOOT_ID_FILE, "last_reserved_ip.0", "lock"]);
});
