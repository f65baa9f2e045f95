// Kernel and file-system limits at their edges, on both sides, against the real kernel and tools: a value
// exactly at a limit works end to end; one byte more fails at once with the right code, a message quoting
// the value, and nothing made (no lease, no veth).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { MAX_ALIAS_BYTES, MAX_IPTABLES_COMMENT_BYTES, NAME_MAX } from "../../core/cni/limits.js";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { HOST_LOCAL_BIN, describeRun, errorOf, runPlugin } from "../support/plugin-harness.js";
import { cni, kubenetConf, leases, tempDir, vethNames } from "./datapath-support.js";

const ID = "e".repeat(64);

t.test("host veth alias: exactly 254 bytes is set by the kernel; 255 is refused up front (7)", { skip: KERNEL_SKIP, timeout: 900_000 }, async (t) => {
  const host = createNetns(t, "host");
  const pod = createNetns(t, "pod");
  const dataDir = tempDir(t);
  const name = "n".repeat(MAX_ALIAS_BYTES - `kubenet::${ID}:eth0`.length);
  const fits = kubenetConf({ name, subnet: "10.95.0.0/24", dataDir });
  const ok = cni("ADD", { host, netns: pod.path, id: ID, config: fits });
  t.equal(ok.code, 0, `ADD with a ${MAX_ALIAS_BYTES}-byte alias${ok.code === 0 ? "" : describeRun(ok)}`);
  const alias = (host.ipJson(["-d", "link", "show"]) as { ifalias?: string }[]).map((l) => l.ifalias).find((a) => a?.startsWith("kubenet:"));
  t.equal(Buffer.byteLength(alias ?? ""), MAX_ALIAS_BYTES, "the kernel kept all of it");
  t.equal(cni("DEL", { host, netns: pod.path, id: ID, config: fits }).code, 0);
  const over = kubenetConf({ name: `${name}n`, subnet: "10.95.0.0/24", dataDir });
  const bad = cni("ADD", { host, netns: pod.path, id: ID, config: over });
  t.equal(errorOf(bad)?.code, 7, describeRun(bad));
  t.match(errorOf(bad)?.msg, /alias .* would be 255 bytes, the kernel keeps at most 254/);
  t.same(leases(dataDir, `${name}n`), [], "no lease");
  t.same(vethNames(host), [], "no veth");
});

t.test("lease directory: a 255-byte network name works, 256 is refused (7); PATH_MAX likewise", async (t) => {
  const dataDir = tempDir(t);
  const conf = (name: string, dir = dataDir) => ({ cniVersion: "1.0.0", name, type: "host-local", ipam: { type: "host-local", subnet: "10.96.0.0/24", dataDir: dir } });
  const base = { command: "ADD", containerId: "lim", netns: "/x", ifName: "eth0", path: "/opt/cni/bin", bin: HOST_LOCAL_BIN };
  const ok = runPlugin({ ...base, config: conf("n".repeat(NAME_MAX)) });
  t.equal(ok.code, 0, `a ${NAME_MAX}-byte network name${ok.code === 0 ? "" : describeRun(ok)}`);
  const bad = runPlugin({ ...base, config: conf("n".repeat(NAME_MAX + 1)) });
  t.equal(errorOf(bad)?.code, 7, describeRun(bad));
  t.match(errorOf(bad)?.msg, /network name "n+\.\.\." is 256 bytes/);
  // A dataDir whose longest lease path is exactly 4095 bytes, then one byte more.
  let deep = dataDir;
  const target = 4095 - (1 + 1 + 1 + 39); // "/" + "n" + "/" + 39-byte lease name
  while (deep.length < target) deep = join(deep, "d".repeat(Math.min(200, target - deep.length - 1)));
  t.equal(deep.length, target);
  mkdirSync(deep, { recursive: true });
  const edge = runPlugin({ ...base, config: conf("n", deep) });
  t.equal(edge.code, 0, `lease paths of 4095 bytes${edge.code === 0 ? "" : describeRun(edge)}`);
  const past = runPlugin({ ...base, config: conf("nn", deep) });
  t.equal(errorOf(past)?.code, 7, describeRun(past));
  t.match(errorOf(past)?.msg, /ipam.dataDir .* makes paths of 4096 bytes/);
});

t.test("iptables keeps a 255-byte comment and cuts a longer one (so ipMasq refuses one up front)", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t, "ipt");
  ns.exec("iptables", ["-t", "nat", "-N", "LIMTEST"]);
  for (const n of [MAX_IPTABLES_COMMENT_BYTES, MAX_IPTABLES_COMMENT_BYTES + 1]) {
    ns.exec("iptables", ["-t", "nat", "-A", "LIMTEST", "-m", "comment", "--comment", "c".repeat(n), "-j", "ACCEPT"]);
  }
  // iptables 1.8 (nft and legacy) accepts the longer one silently and stores 255 bytes: a rule whose comment
  // names the attachment could then never be found again by DEL or GC.
  const kept = ns.exec("iptables", ["-t", "nat", "-S", "LIMTEST"]).split("\n").filter((l) => l.startsWith("-A")).map((l) => /--comment (c+)/.exec(l)?.[1]?.length);
  t.same(kept, [MAX_IPTABLES_COMMENT_BYTES, MAX_IPTABLES_COMMENT_BYTES], "255 kept whole; 256 cut to 255");
});
