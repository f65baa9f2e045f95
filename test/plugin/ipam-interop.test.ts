// Interop with Debian's reference host-local (/usr/lib/cni/host-local, containernetworking-plugins):
// leases written by either are honoured by the other, both take the same flock, and the same config gives
// the same result JSON from both, version by version. No namespaces needed.

import t from "tap";
import { describeRun, errorOf, runPluginAsync, HOST_LOCAL_BIN } from "../support/plugin-harness.js";
import { REF_HOST_LOCAL, REF_SKIP, hlConf, leaseDir, ours, resultIps, tempDir, theirs } from "./ipam-support.js";

t.test("their leases, our ADD and DEL (and back)", { skip: REF_SKIP }, async (t) => {
  const dataDir = tempDir(t);
  const config = hlConf({ dataDir, ipam: { ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd60::/64" }]] } });
  const a = theirs({ command: "ADD", containerId: "theirs-a", config });
  t.same(resultIps(a.json), ["10.60.0.2", "fd60::2"], describeRun(a));
  const b = ours({ command: "ADD", containerId: "ours-b", config });
  t.same(resultIps(b.json), ["10.60.0.3", "fd60::3"], `ours continues their round robin: ${describeRun(b)}`);
  const c = theirs({ command: "ADD", containerId: "theirs-c", config });
  t.same(resultIps(c.json), ["10.60.0.4", "fd60::4"], "theirs continues ours");
  t.equal(leaseDir(dataDir)["10.60.0.3"], "ours-b\r\neth0", "same lease bytes");
  t.equal(leaseDir(dataDir)["10.60.0.2"], "theirs-a\r\neth0");

  t.equal(ours({ command: "CHECK", containerId: "theirs-a", config: { ...config, cniVersion: "0.4.0" } }).code, 0, "our CHECK sees their lease");
  t.equal(theirs({ command: "CHECK", containerId: "ours-b", config: { ...config, cniVersion: "0.4.0" } }).code, 0, "their CHECK sees ours");

  t.equal(ours({ command: "DEL", containerId: "theirs-a", config }).code, 0);
  t.equal(theirs({ command: "DEL", containerId: "ours-b", config }).code, 0);
  t.same(Object.keys(leaseDir(dataDir)).filter((f) => !f.startsWith("l")), ["10.60.0.4", "fd60::4"], "each released the other's leases");

  // Their duplicate-allocation rule sees our lease and ours sees theirs.
  t.equal(errorOf(ours({ command: "ADD", containerId: "theirs-c", config }))?.code, 107);
  t.match(theirs({ command: "ADD", containerId: "theirs-c", config }).stdout, /duplicate allocation is not allowed/);

  // A requested IP they hold is unavailable to us.
  const req = ours({ command: "ADD", containerId: "x", args: "IP=10.60.0.4", config });
  t.equal(errorOf(req)?.code, 101, describeRun(req));
});

t.test("a legacy (id-only) lease is released by our DEL and honoured by their allocator", { skip: REF_SKIP }, async (t) => {
  const dataDir = tempDir(t);
  const config = hlConf({ dataDir, ipam: { subnet: "10.61.0.0/24" } });
  t.equal(ours({ command: "ADD", containerId: "a", config }).code, 0);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(`${dataDir}/ipamnet/10.61.0.9`, "old-container");
  t.equal(theirs({ command: "CHECK", containerId: "old-container", config: { ...config, cniVersion: "0.4.0" } }).code, 0);
  t.equal(ours({ command: "DEL", containerId: "old-container", config }).code, 0);
  t.notOk("10.61.0.9" in leaseDir(dataDir));
});

t.test("same config, same result JSON: ours vs theirs, every version they speak", { skip: REF_SKIP }, async (t) => {
  const configs: Record<string, Record<string, unknown>> = {
    single: { subnet: "10.62.0.0/24", routes: [{ dst: "0.0.0.0/0" }] },
    "range + gateway": { ranges: [[{ subnet: "10.62.0.0/16", rangeStart: "10.62.3.10", rangeEnd: "10.62.3.20", gateway: "10.62.0.254" }]] },
    "dual stack": { ranges: [[{ subnet: "10.62.0.0/24" }], [{ subnet: "fd62:1::/64" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }, { dst: "10.0.0.0/8", gw: "10.62.0.1" }] },
    "two ranges in a set": { ranges: [[{ subnet: "10.62.0.0/30" }, { subnet: "10.63.0.0/30" }]] },
    "legacy + ranges": { subnet: "10.64.0.0/24", ranges: [[{ subnet: "fd64::/120" }]] },
    // Lease file names are the canonical text: single zero groups stay, the first longest run becomes "::".
    "IPv6 zero groups": { ranges: [[{ subnet: "2001:db8:0:1::/64", rangeStart: "2001:db8:0:1:0:1:0:2" }], [{ subnet: "2001:db8:0:2::/64", rangeStart: "2001:db8:0:2:0:0:1:0" }]] },
  };
  for (const [name, ipam] of Object.entries(configs)) {
    for (const version of ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]) {
      if (name === "IPv6 zero groups" && (version === "0.1.0" || version === "0.2.0")) continue; // two IPv6 sets need >= 0.3.0
      const oursDir = tempDir(t);
      const theirsDir = tempDir(t);
      for (const id of ["a", "b", "c"]) {
        const o = ours({ command: "ADD", containerId: id, config: hlConf({ version, dataDir: oursDir, ipam }) });
        const th = theirs({ command: "ADD", containerId: id, config: hlConf({ version, dataDir: theirsDir, ipam }) });
        t.equal(o.code, th.code, `${name} ${version} ${id}: exit (ours ${describeRun(o)} theirs ${describeRun(th)})`);
        if (th.code === 0) t.same(o.json, th.json, `${name} ${version} ${id}: result`);
        else t.match(errorOf(o)?.msg, /no IP addresses available/, `${name} ${version} ${id}: both exhausted`);
      }
      t.same(leaseDir(oursDir), leaseDir(theirsDir), `${name} ${version}: same files, same bytes`);
    }
  }
});

t.test("cniVersion 1.1.0: theirs (v1.1.1) refuses with code 1, ours answers", { skip: REF_SKIP }, async (t) => {
  const dataDir = tempDir(t);
  const th = theirs({ command: "ADD", containerId: "a", config: hlConf({ version: "1.1.0", dataDir }) });
  if (th.code === 0) {
    t.comment("this host-local speaks 1.1.0: comparing");
    const o = ours({ command: "ADD", containerId: "a", config: hlConf({ version: "1.1.0", dataDir: tempDir(t) }) });
    t.same(o.json, th.json);
    return;
  }
  t.equal(errorOf(th)?.code, 1);
  const o = ours({ command: "ADD", containerId: "a", config: hlConf({ version: "1.1.0", dataDir: tempDir(t) }) });
  t.equal(o.code, 0);
  t.same(o.json, { cniVersion: "1.1.0", ips: [{ address: "10.50.0.2/24", gateway: "10.50.0.1" }], dns: {} });
});

t.test("ours and theirs in parallel on one /24 share the flock: all distinct", { skip: REF_SKIP }, async (t) => {
  const dataDir = tempDir(t);
  const config = hlConf({ dataDir, ipam: { subnet: "10.65.0.0/24" } });
  const runs = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      runPluginAsync({
        command: "ADD",
        containerId: `mix${i}`,
        netns: "/x",
        ifName: "eth0",
        path: "/opt/cni/bin",
        config,
        bin: i % 2 === 0 ? HOST_LOCAL_BIN : REF_HOST_LOCAL,
      }),
    ),
  );
  const failed = runs.filter((r) => r.code !== 0);
  t.equal(failed.length, 0, failed.map(describeRun).join("\n"));
  const ips = runs.flatMap((r) => resultIps(r.json));
  t.equal(new Set(ips).size, 60, "60 distinct addresses");
  t.equal(Object.keys(leaseDir(dataDir)).filter((f) => f.startsWith("10.")).length, 60, "60 lease files");
  for (let i = 0; i < 60; i++) {
    const ip = resultIps(runs[i]!.json)[0]!;
    t.equal(leaseDir(dataDir)[ip], `mix${i}\r\neth0`);
  }
});
