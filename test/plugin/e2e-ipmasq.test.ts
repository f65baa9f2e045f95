// End to end, "ipMasq": true through dist/bridge, run as containerd runs it with its stock
// /etc/cni/net.d/10-containerd-net.conflist (bridge cni0, isGateway, ipMasq, promiscMode, host-local
// 10.88.0.0/16). Checks the exact iptables layout of the reference plugin (one CNI-<hash> chain and one
// POSTROUTING jump per pod), real masquerading towards an "outside" namespace that has no route back to
// the pods, DEL (also with the netns gone), rollback, GC, CHECK, the legacy backend, the xtables lock, and
// byte-for-byte equality with Debian's /usr/lib/cni/bridge on the same config.

import t from "tap";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { KERNEL_SKIP, createNetns, createTopology, startListener, type TestNetns } from "../support/netns.js";
import { nodePluginScript } from "../support/node-plugin.js";
import { BRIDGE_BIN, REF_PLUGIN_DIR, describeRun, errorOf, runPlugin, type PluginRun } from "../support/plugin-harness.js";
import {
  cni,
  inv,
  cniAsync,
  containerId,
  leases,
  link,
  ok,
  resultIps,
  stripPrefix,
  tempDir,
  vethNames,
  withPrev,
  type Attach,
  type TapTest,
} from "./datapath-support.js";

const NET = "containerd-net";
const REF_BRIDGE = join(REF_PLUGIN_DIR, "bridge");
const LEGACY_MULTI = "/usr/sbin/xtables-legacy-multi";

/** containerd's stock 10-containerd-net.conflist, with a throwaway lease directory. */
function containerdConflist(dataDir: string, o: { version?: string; v6?: boolean } = {}): Record<string, unknown> {
  return {
    cniVersion: o.version ?? "1.0.0",
    name: NET,
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq: true,
        promiscMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: "10.88.0.0/16" }], ...(o.v6 ? [[{ subnet: "2001:4860:4860::/64" }]] : [])],
          routes: [{ dst: "0.0.0.0/0" }, ...(o.v6 ? [{ dst: "::/0" }] : [])],
          dataDir,
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** The bridge plugin's config as libcni hands it over: the list's name and cniVersion injected. */
function bridgePluginConf(list: Record<string, unknown>): Record<string, unknown> {
  const plugins = list["plugins"] as Record<string, unknown>[];
  return { cniVersion: list["cniVersion"], name: list["name"], ...plugins[0] };
}

const chainOf = (net: string, id: string): string => `CNI-${createHash("sha512").update(net + id).digest("hex")}`.slice(0, 28);
const commentOf = (net: string, id: string): string => `"name: \\"${net}\\" id: \\"${id}\\""`;

/** `iptables-save -t nat` (or ip6tables) inside `ns`, without the date comments and with counters zeroed. */
function natSave(ns: TestNetns, family: 4 | 6 = 4, bin?: string): string {
  const out = ns.exec(bin ?? (family === 4 ? "iptables-save" : "ip6tables-save"), ["-t", "nat"]);
  return out
    .split("\n")
    .filter((l) => !l.startsWith("#") && l !== "")
    .map((l) => l.replace(/\[\d+:\d+\]/, "[0:0]"))
    .join("\n");
}

/** The CNI-<24 hex> chains in the nat table. */
function cniChains(save: string): string[] {
  return save
    .split("\n")
    .filter((l) => /^:CNI-[0-9a-f]{24} /.test(l))
    .map((l) => l.slice(1, 29))
    .sort();
}

/** The rule lines the reference writes for one pod address (iptables-save form). */
function refRules(id: string, podIp: string, subnet: string, family: 4 | 6 = 4): string[] {
  const chain = chainOf(NET, id);
  const c = commentOf(NET, id);
  return [
    `-A POSTROUTING -s ${podIp}/${family === 4 ? 32 : 128} -m comment --comment ${c} -j ${chain}`,
    `-A ${chain} -d ${subnet} -m comment --comment ${c} -j ACCEPT`,
    `-A ${chain} ! -d ${family === 4 ? "224.0.0.0/4" : "ff00::/8"} -m comment --comment ${c} -j MASQUERADE`,
  ];
}

/** Like `cni`, with extra variables in the plugin's environment (e.g. another PATH). */
function cniWithEnv(command: string, a: Attach, env: Record<string, string>): PluginRun {
  return runPlugin({ ...inv(command, a), env });
}

const ruleLines = (save: string): string[] => save.split("\n").filter((l) => l.startsWith("-A "));

/**
 * The "outside" world: a namespace joined to the host by a veth (host 203.0.113.1, outside 203.0.113.2),
 * the host's default route via outside, and NO route back to the pod subnet in outside. A tiny TCP server
 * there answers every connection with the peer address it sees.
 */
async function createOutside(t: TapTest, host: TestNetns): Promise<TestNetns> {
  const outside = createNetns(t, "out");
  host.exec("ip", ["link", "add", "up0", "type", "veth", "peer", "name", "down0", "netns", outside.name]);
  host.exec("ip", ["addr", "add", "203.0.113.1/24", "dev", "up0"]);
  host.exec("ip", ["link", "set", "up0", "up"]);
  host.exec("ip", ["route", "add", "default", "via", "203.0.113.2"]);
  outside.exec("ip", ["addr", "add", "203.0.113.2/24", "dev", "down0"]);
  outside.exec("ip", ["link", "set", "down0", "up"]);
  const script =
    'require("net").createServer((s) => { s.end(s.remoteAddress + "\\n"); })' +
    '.listen(8080, "203.0.113.2", () => console.log("listening"));';
  await startListener(t, outside, script, [], "the outside TCP server");
  return outside;
}

/** SIGKILL to a child we started, by its PID, unless it has already ended. */
function killIfRunning(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(child.pid, "SIGKILL");
  } catch {
    // it ended in between
  }
}

/** Connects from `pod` to the outside server; the address the server saw, or undefined (no answer in 3 s). */
function seenBy(pod: TestNetns): string | undefined {
  const r = pod.run("timeout", ["3", "bash", "-c", "exec 3<>/dev/tcp/203.0.113.2/8080 && cat <&3"]);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

t.test("containerd's stock conflist: the reference layout, masquerading to the outside, DEL", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const [a, b] = containers as [TestNetns, TestNetns];
  const outside = await createOutside(t, host);
  const dataDir = tempDir(t);
  const config = bridgePluginConf(containerdConflist(dataDir));
  const ids = [containerId(), containerId()] as const;
  const at = (i: 0 | 1): Attach => ({ host, netns: [a, b][i]?.path, id: ids[i], config, bin: BRIDGE_BIN });

  const res = [ok(cni("ADD", at(0))).json, ok(cni("ADD", at(1))).json];
  const ips = res.map((r) => stripPrefix(resultIps(r)[0] as string));
  t.same(ips, ["10.88.0.2", "10.88.0.3"]);
  t.ok(link(host, "cni0")?.flags?.includes("PROMISC"), "promiscMode together with isGateway: cni0 is promiscuous");

  const save = natSave(host);
  t.same(cniChains(save), [chainOf(NET, ids[0]), chainOf(NET, ids[1])].sort(), "one chain per pod, named as the reference names it");
  t.same(
    ruleLines(save).sort(),
    [...refRules(ids[0], ips[0] as string, "10.88.0.0/16"), ...refRules(ids[1], ips[1] as string, "10.88.0.0/16")].sort(),
    "exactly the reference's rules: one jump per pod, ACCEPT for the pod subnet, MASQUERADE except multicast",
  );
  for (const id of ids) {
    const chain = chainOf(NET, id);
    const inChain = ruleLines(save).filter((l) => l.startsWith(`-A ${chain} `));
    t.match(inChain, [/-j ACCEPT$/, /-j MASQUERADE$/], `${chain}: ACCEPT before MASQUERADE`);
  }

  t.equal(seenBy(a), "203.0.113.1", "pod a reaches the outside and is seen with the host's address");
  t.equal(seenBy(b), "203.0.113.1", "pod b too");
  // Control: without its jump, the outside cannot answer the pod (it has no route to 10.88.0.0/16).
  const jumpA = (refRules(ids[0], ips[0] as string, "10.88.0.0/16")[0] as string).slice(3);
  host.exec("bash", ["-c", `iptables -t nat -D ${jumpA}`]);
  t.equal(seenBy(a), undefined, "without the masquerade jump pod a gets no answer");
  const check = cni("CHECK", { ...at(0), config: withPrev(config, res[0]) });
  t.equal(errorOf(check)?.code, 105, `CHECK notices the missing jump: ${describeRun(check)}`);
  t.match(errorOf(check)?.msg, /jump "-A POSTROUTING -s 10\.88\.0\.2\/32/);
  t.equal(cni("CHECK", { ...at(1), config: withPrev(config, res[1]) }).code, 0, "CHECK of the intact pod passes");

  // A repeated ADD's masquerade setup (here: after DEL of everything but the chain) never doubles a jump;
  // DEL removes the chain even though its jump is already gone.
  ok(cni("DEL", { ...at(0), config: withPrev(config, res[0]) }));
  const afterDel = natSave(host);
  t.same(cniChains(afterDel), [chainOf(NET, ids[1])], "DEL removed pod a's chain");
  t.same(ruleLines(afterDel).sort(), refRules(ids[1], ips[1] as string, "10.88.0.0/16").sort(), "pod b's rules untouched");
  t.equal(seenBy(b), "203.0.113.1", "pod b still masqueraded");

  ok(cni("DEL", at(1)));
  t.same(cniChains(natSave(host)), [], "no chain left");
  t.same(ruleLines(natSave(host)), [], "no rule left");
  const again = cni("DEL", at(1));
  t.equal(again.code, 0, `DEL again is fine: ${describeRun(again)}`);
  t.same(leases(dataDir, NET), []);
  t.ok(outside, "outside namespace used");
});

t.test("DEL after the netns is deleted still removes the chain (the reference leaks it)", { skip: KERNEL_SKIP }, async (t) => {
  const host = createNetns(t, "host");
  const refHost = createNetns(t, "refhost");
  const dataDir = tempDir(t);
  const refDataDir = tempDir(t);
  const id = containerId();
  for (const [h, dir, bin, path] of [
    [host, dataDir, BRIDGE_BIN, "/opt/cni/bin"],
    [refHost, refDataDir, REF_BRIDGE, REF_PLUGIN_DIR],
  ] as const) {
    if (bin === REF_BRIDGE && !existsSync(REF_BRIDGE)) continue;
    const pod = createNetns(t, "ctr");
    const config = bridgePluginConf(containerdConflist(dir));
    ok(cni("ADD", { host: h, netns: pod.path, id, config, bin, path }));
    t.equal(cniChains(natSave(h)).length, 1, `${bin}: chain made`);
    const netns = pod.path;
    pod.destroy();
    const del = cni("DEL", { host: h, netns, id, config, bin, path });
    t.equal(del.code, 0, `${bin}: DEL with the netns gone succeeds: ${describeRun(del)}`);
    const left = cniChains(natSave(h));
    if (bin === BRIDGE_BIN) {
      t.same(left, [], "ours: chain removed without the netns");
      t.same(ruleLines(natSave(h)), [], "ours: jump removed");
    } else {
      t.comment(`reference bridge left ${left.length} chain(s) behind after DEL without the netns`);
    }
    t.same(leases(dir, NET), [], `${bin}: lease released`);
  }
});

t.test("ADD failures: after the masquerade setup (rolled back) and of the masquerade itself", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 3);
  const dataDir = tempDir(t);
  const base = bridgePluginConf(containerdConflist(dataDir));
  // A route the kernel refuses: fails in the pod, after IPAM and after the masquerade was set up.
  const badRoute = { ...base, ipam: { ...(base["ipam"] as object), routes: [{ dst: "0.0.0.0/0" }, { dst: "10.200.0.0/16", gw: "192.0.2.1" }] } };
  const run = cni("ADD", { host, netns: containers[0]?.path, id: containerId(), config: badRoute, bin: BRIDGE_BIN });
  t.equal(errorOf(run)?.code, 102, describeRun(run));
  t.same(cniChains(natSave(host)), [], "no chain left");
  t.same(ruleLines(natSave(host)), [], "no jump left");
  t.same(leases(dataDir, NET), [], "no lease left");
  t.same(vethNames(host), [], "no veth left");

  // iptables not on PATH: code 111 naming the tool and PATH, nothing left.
  ok(cni("ADD", { host, netns: containers[1]?.path, id: containerId(), config: base, bin: BRIDGE_BIN }));
  const id = containerId();
  const noIptPath = dirname(process.execPath);
  if (existsSync(join(noIptPath, "iptables-save")) || !existsSync(join(noIptPath, "nsenter"))) {
    t.comment(`skipped the missing-iptables case: ${noIptPath} has iptables-save or lacks nsenter`);
  } else {
    const run2 = cniWithEnv("ADD", { host, netns: containers[2]?.path, id, config: base, bin: BRIDGE_BIN }, { PATH: noIptPath });
    t.equal(errorOf(run2)?.code, 111, describeRun(run2));
    t.match(errorOf(run2)?.msg, /"iptables-save" was not found in PATH/);
    t.equal(cniChains(natSave(host)).length, 1, "only the good pod's chain");
    t.equal(leases(dataDir, NET).length, 1, "the failed ADD's lease is released");
    t.equal(link(containers[2] as TestNetns, "eth0"), undefined, "no eth0 in the failed pod");
    t.equal(vethNames(host).length, 1, "only the good pod's veth");
  }

  // ipMasqBackend "nftables" is refused up front (code 2), "iptables" is the default.
  const nft = cni("ADD", { host, netns: containers[2]?.path, id, config: { ...base, ipMasqBackend: "nftables" }, bin: BRIDGE_BIN });
  t.equal(errorOf(nft)?.code, 2, describeRun(nft));
  t.equal(leases(dataDir, NET).length, 1);
});


t.test("hairpinMode with promiscMode is refused like the reference, before anything is made", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const dataDir = tempDir(t);
  const config = { ...bridgePluginConf(containerdConflist(dataDir)), hairpinMode: true };
  for (const [bin, path] of [[BRIDGE_BIN, "/opt/cni/bin"], [REF_BRIDGE, REF_PLUGIN_DIR]] as const) {
    if (!existsSync(bin)) continue;
    const run = cni("ADD", { host, netns: containers[0]?.path, id: containerId(), config, bin, path });
    t.not(run.code, 0, `${bin} refuses: ${describeRun(run)}`);
    t.match(errorOf(run)?.msg, /hairpin.*promisc/i);
  }
  if (existsSync(BRIDGE_BIN)) t.equal(errorOf(cni("ADD", { host, netns: containers[0]?.path, id: containerId(), config, bin: BRIDGE_BIN }))?.code, 7);
  t.equal(link(host, "cni0"), undefined, "no bridge");
  t.same(cniChains(natSave(host)), []);
  t.same(leases(dataDir, NET), []);
});

t.test("GC (1.1.0) removes the chains of attachments that are not valid, by their comment", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 4);
  const dataDir = tempDir(t);
  const config = bridgePluginConf(containerdConflist(dataDir, { version: "1.1.0" }));
  // Another network sharing the bridge: GC of one network must leave the other's veth, chain and lease alone
  // (host veths carry "kubenet:<network>:<containerID>:<ifname>").
  const other = { ...config, name: "other-net" };
  const ids = containers.map(() => containerId());
  for (const [i, c] of containers.slice(0, 3).entries()) ok(cni("ADD", { host, netns: c.path, id: ids[i] as string, config, bin: BRIDGE_BIN }));
  ok(cni("ADD", { host, netns: containers[3]?.path, id: ids[3] as string, config: other, bin: BRIDGE_BIN }));
  // A chain left by an ADD that crashed before its jump was written: found through its own rules' comment.
  const orphanId = containerId();
  const orphan = chainOf(NET, orphanId);
  host.exec("iptables-restore", ["--noflush"], `*nat\n:${orphan} - [0:0]\n-A ${orphan} -d 10.88.0.0/16 -m comment --comment ${commentOf(NET, orphanId)} -j ACCEPT\nCOMMIT\n`);
  t.equal(cniChains(natSave(host)).length, 5);

  const valid = [{ containerID: ids[0], ifname: "eth0" }];
  const run = cni("GC", { host, netns: undefined, id: "", config: { ...config, "cni.dev/valid-attachments": valid }, bin: BRIDGE_BIN });
  t.equal(run.code, 0, describeRun(run));
  t.same(cniChains(natSave(host)), [chainOf(NET, ids[0] as string), chainOf("other-net", ids[3] as string)].sort(), "valid and other network's chains stay");
  const jumps = ruleLines(natSave(host)).filter((l) => l.startsWith("-A POSTROUTING"));
  t.equal(jumps.length, 2, "their jumps stay, the others are gone");
  t.same(leases(dataDir, NET).length, 1);
  t.same(leases(dataDir, "other-net").length, 1, "the other network's lease stays");
  t.equal(vethNames(host).length, 2, "the valid pod's veth and the other network's veth stay");
});

t.test("the same config through Debian's bridge and ours: same chain, same rules (IPv4 and IPv6); each DELs the other's", { skip: KERNEL_SKIP || (!existsSync(REF_BRIDGE) && "Debian's containernetworking-plugins is not installed") }, async (t) => {
  const ours = createNetns(t, "host");
  const theirs = createNetns(t, "refhost");
  const podOurs = createNetns(t, "ctr");
  const podTheirs = createNetns(t, "ctr");
  const id = containerId();
  const confOurs = bridgePluginConf(containerdConflist(tempDir(t), { v6: true }));
  const confTheirs = bridgePluginConf(containerdConflist(tempDir(t), { v6: true }));
  const resOurs = ok(cni("ADD", { host: ours, netns: podOurs.path, id, config: confOurs, bin: BRIDGE_BIN })).json;
  const resTheirs = ok(cni("ADD", { host: theirs, netns: podTheirs.path, id, config: confTheirs, bin: REF_BRIDGE, path: REF_PLUGIN_DIR })).json;
  t.same(resultIps(resOurs), resultIps(resTheirs), "same addresses");
  for (const family of [4, 6] as const) {
    const a = natSave(ours, family);
    const b = natSave(theirs, family);
    t.equal(a, b, `IPv${family}: identical ${family === 4 ? "iptables" : "ip6tables"}-save -t nat`);
    t.same(cniChains(a), [chainOf(NET, id)]);
  }
  t.same(
    ruleLines(natSave(ours, 6)).sort(),
    refRules(id, "2001:4860:4860::2", "2001:4860:4860::/64", 6).sort(),
    "IPv6 rules as the reference's",
  );

  // Their DEL removes what we made, our DEL removes what they made (same pod, other plugin's DEL).
  ok(cni("DEL", { host: ours, netns: podOurs.path, id, config: confOurs, bin: REF_BRIDGE, path: REF_PLUGIN_DIR }));
  t.same(cniChains(natSave(ours)), [], "their DEL removed our IPv4 chain");
  t.same(cniChains(natSave(ours, 6)), [], "and our IPv6 chain");
  ok(cni("DEL", { host: theirs, netns: podTheirs.path, id, config: confTheirs, bin: BRIDGE_BIN }));
  t.same(cniChains(natSave(theirs)), [], "our DEL removed their IPv4 chain");
  t.same(cniChains(natSave(theirs, 6)), [], "and their IPv6 chain");
  t.same(ruleLines(natSave(theirs)), []);
});

t.test("concurrent ADDs: one chain and one jump each", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 20);
  const dataDir = tempDir(t);
  const config = bridgePluginConf(containerdConflist(dataDir));
  const ids = containers.map(() => containerId());
  const runs = await Promise.all(containers.map((c, i) => cniAsync("ADD", { host, netns: c.path, id: ids[i] as string, config, bin: BRIDGE_BIN })));
  runs.forEach((r) => t.equal(r.code, 0, describeRun(r)));
  const save = natSave(host);
  t.same(cniChains(save), ids.map((id) => chainOf(NET, id)).sort());
  t.equal(ruleLines(save).filter((l) => l.startsWith("-A POSTROUTING")).length, 20, "20 jumps");
  t.equal(ruleLines(save).length, 60, "3 rules per pod");
  const dels = await Promise.all(containers.map((c, i) => cniAsync("DEL", { host, netns: c.path, id: ids[i] as string, config, bin: BRIDGE_BIN })));
  dels.forEach((r) => t.equal(r.code, 0, describeRun(r)));
  t.same(ruleLines(natSave(host)), []);
  t.same(cniChains(natSave(host)), []);
});

const LEGACY_SKIP = KERNEL_SKIP || (!existsSync(LEGACY_MULTI) && "iptables-legacy is not installed");

/** A PATH directory whose iptables tools are the legacy ones (as `update-alternatives --set iptables ...-legacy`). */
function legacyPath(t: TapTest): string {
  const dir = join(tempDir(t), "bin");
  mkdirSync(dir);
  for (const n of ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"]) {
    symlinkSync(LEGACY_MULTI, join(dir, n));
  }
  return `${dir}:/usr/sbin:/usr/bin`;
}

t.test("the legacy backend: the tools on PATH decide; a held xtables lock is code 11", { skip: LEGACY_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const dataDir = tempDir(t);
  const config = { ...bridgePluginConf(containerdConflist(dataDir)), lockTimeoutMs: 1000 };
  const PATH = legacyPath(t);
  // A private lock file: the machine's /run/xtables.lock is never touched.
  const lockFile = join(tempDir(t), "xtables.lock");
  writeFileSync(lockFile, "");
  const env = { PATH, XTABLES_LOCKFILE: lockFile };
  const id = containerId();
  ok(cniWithEnv("ADD", { host, netns: containers[0]?.path, id, config, bin: BRIDGE_BIN }, env));
  t.same(cniChains(natSave(host, 4, "iptables-legacy-save")), [chainOf(NET, id)], "the chain is in the legacy tables");
  t.same(cniChains(natSave(host, 4, "iptables-nft-save")), [], "and not in nft");

  // One process holds the lock: bash opens the file on fd 9, flock(1) locks that open file, and bash
  // becomes `sleep` keeping fd 9; killing that PID releases the lock.
  const holder = spawn("bash", ["-c", `exec 9>>"$0"; flock -x 9; echo locked; exec sleep 60`, lockFile], { stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => killIfRunning(holder));
  await new Promise<void>((resolve) => holder.stdout?.once("data", () => resolve()));
  const busy = cniWithEnv("ADD", { host, netns: containers[1]?.path, id: containerId(), config, bin: BRIDGE_BIN }, env);
  t.equal(errorOf(busy)?.code, 11, `lock held: try again later: ${describeRun(busy)}`);
  t.match(errorOf(busy)?.msg, /xtables lock/);
  t.equal(leases(dataDir, NET).length, 1, "the busy ADD's lease is released");
  t.equal(link(containers[1] as TestNetns, "eth0"), undefined);
  const exited = new Promise((r) => holder.once("exit", r));
  killIfRunning(holder);
  await exited;

  ok(cniWithEnv("DEL", { host, netns: containers[0]?.path, id, config, bin: BRIDGE_BIN }, env));
  t.same(cniChains(natSave(host, 4, "iptables-legacy-save")), [], "DEL removed it from the legacy tables");
});

/**
 * The plugin as a Node script named `bridge`. The probe below reads Node's module list, which only a Node
 * build has: when dist/kubenet is the Bun-compiled executable, the same entry (the same lazy imports) is
 * bundled for Node into a temp dir inside dist/, so koffi still resolves from the repo's node_modules.
 */
async function nodeBridgeBin(t: TapTest): Promise<string> {
  if (readFileSync(BRIDGE_BIN).subarray(0, 2).toString() === "#!") return BRIDGE_BIN;
  return nodePluginScript(t, "bridge");
}

// Under Node the iptables tools run through posix_spawn (native/ffi/spawn.ts) with node:net streams on the pipes
// (node:net is loaded anyway, for the agent's socket), so node:child_process and its fork never load, with or
// without ipMasq (under Bun its own child_process runs them, loaded when a tool runs).
t.test("start-up stays lean: node:child_process never loads under Node, ipMasq on or off", { skip: KERNEL_SKIP }, async (t) => {
  const bin = await nodeBridgeBin(t);
  const { host, containers } = createTopology(t, 2);
  const dataDir = tempDir(t);
  const probe = join(tempDir(t), "probe.cjs");
  writeFileSync(
    probe,
    'process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify(process.moduleLoadList.filter((m) => m.endsWith(" child_process"))) + "\\n"));\n',
  );
  const masq = bridgePluginConf(containerdConflist(dataDir));
  for (const [i, config, want] of [[0, { ...masq, ipMasq: false }, "[]"], [1, masq, "[]"]] as const) {
    const run = ok(cniWithEnv("ADD", { host, netns: containers[i]?.path, id: containerId(), config, bin }, { NODE_OPTIONS: `--require ${probe}` }));
    t.match(run.stderr, `LOADED ${want}`, `ipMasq ${config["ipMasq"] === true ? "on" : "off"}: child_process not loaded`);
  }
});

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;

t.test("latency: ADD with and without ipMasq (env -i, median of 10)", { skip: KERNEL_SKIP }, async (t) => {
  const host = createNetns(t, "host");
  const pod = createNetns(t, "ctr");
  const dataDir = tempDir(t);
  const masq = bridgePluginConf(containerdConflist(dataDir));
  const plain = { ...masq, ipMasq: false };
  const out: Record<string, { add: number; del: number }> = {};
  const cases: [string, Record<string, unknown>, string, string][] = [
    ["ours, ipMasq", masq, BRIDGE_BIN, "/opt/cni/bin"],
    ["ours, no ipMasq", plain, BRIDGE_BIN, "/opt/cni/bin"],
    ["ours, ipMasq (again)", masq, BRIDGE_BIN, "/opt/cni/bin"],
  ];
  if (existsSync(REF_BRIDGE)) {
    // For scale: the reference runs one iptables command per rule.
    cases.push(["Debian's bridge, ipMasq", masq, REF_BRIDGE, REF_PLUGIN_DIR], ["Debian's bridge, no ipMasq", plain, REF_BRIDGE, REF_PLUGIN_DIR]);
  }
  for (const [label, config, bin, path] of cases) {
    const warm = containerId();
    ok(cni("ADD", { host, netns: pod.path, id: warm, config, bin, path }));
    ok(cni("DEL", { host, netns: pod.path, id: warm, config, bin, path }));
    const add: number[] = [];
    const del: number[] = [];
    for (let i = 0; i < 10; i++) {
      const id = containerId();
      add.push(ok(cni("ADD", { host, netns: pod.path, id, config, bin, path })).ms);
      del.push(ok(cni("DEL", { host, netns: pod.path, id, config, bin, path })).ms);
    }
    out[label] = { add: median(add), del: median(del) };
    t.comment(`${label}: ADD median ${median(add).toFixed(1)} ms, DEL median ${median(del).toFixed(1)} ms (incl. nsenter)`);
  }
  t.same(cniChains(natSave(host)), []);
  t.ok((out["ours, ipMasq"]?.add ?? 0) > 0, "measured (the numbers are the point; timing is no test)");
});
