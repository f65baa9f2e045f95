// Bad input, run against the built executables exactly as a runtime would: every case must fail with the
// right CNI code, a message a person can act on (key words + the quoted offending value), a non-zero exit,
// JSON on stdout only, and no change on the node: the lease directory stays byte-for-byte as it was and,
// for everything that runs inside a throwaway "host" namespace, no link appears there.
//
// Cases for dist/kubenet and dist/bridge run only inside the test sandbox (scripts/test.sh), in a fresh
// host namespace, so that a case that wrongly got as far as the datapath could never touch the machine.

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { KERNEL_SKIP, createNetns, type TestNetns } from "../support/netns.js";
import { BRIDGE_BIN, HOST_LOCAL_BIN, KUBENET_BIN, describeRun, errorOf, runPlugin, type PluginInvocation } from "../support/plugin-harness.js";
import { tempDir } from "./ipam-support.js";

const NET = "badnet";

interface Case {
  readonly name: string;
  /** Builds the invocation for this case; `dataDir` is the case's lease root. */
  readonly inv: (dataDir: string, host: TestNetns | undefined) => PluginInvocation;
  readonly code: number;
  /** Key words and the quoted value the message must contain. */
  readonly msg: RegExp;
  /** Needs a real namespace (CNI_NETNS) or runs the datapath binary: only inside the sandbox. */
  readonly kernel?: boolean;
}

const kubenet = (dataDir: string, over: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) => ({
  cniVersion: "1.0.0",
  name: NET,
  type: "kubenet",
  bridge: "cbr0",
  ipam: { type: "host-local", ranges: [[{ subnet: "10.88.0.0/24" }]], dataDir, ...ipam },
  ...over,
});
const hostLocal = (dataDir: string, over: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) => ({
  cniVersion: "1.0.0",
  name: NET,
  type: "host-local",
  ipam: { type: "host-local", ranges: [[{ subnet: "10.88.0.0/24" }]], dataDir, ...ipam },
  ...over,
});

const ADD = { command: "ADD", containerId: "bad0123456789", netns: "/run/netns/none", ifName: "eth0", path: "/opt/cni/bin" };
const k = (over: Partial<PluginInvocation>, conf: (d: string) => unknown): Case["inv"] => (d) => ({ ...ADD, ...over, bin: KUBENET_BIN, config: conf(d) });
const hl = (over: Partial<PluginInvocation>, conf: (d: string) => unknown): Case["inv"] => (d) => ({ ...ADD, ...over, bin: HOST_LOCAL_BIN, config: conf(d) });

const TEN_MB = 10 * 1024 * 1024;

const cases: Case[] = [
  // --- stdin: not JSON, wrong shapes, too large
  { name: "malformed JSON", inv: hl({}, () => "{"), code: 6, msg: /not valid JSON/ },
  { name: "truncated JSON", inv: hl({}, (d) => JSON.stringify(hostLocal(d)).slice(0, 40)), code: 6, msg: /not valid JSON.*starts with "\{\\"cniVersion/ },
  { name: "empty stdin", inv: hl({}, () => ""), code: 6, msg: /no network configuration on stdin/ },
  { name: "JSON array", inv: hl({}, () => "[1,2]"), code: 6, msg: /must be a JSON object, got \[1,2\]/ },
  { name: "JSON null", inv: hl({}, () => "null"), code: 6, msg: /must be a JSON object, got null/ },
  { name: "binary junk", inv: hl({}, () => Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b])), code: 6, msg: /not valid JSON/ },
  { name: "10 MB of junk", inv: hl({}, () => Buffer.alloc(TEN_MB, "x")), code: 5, msg: /larger than 1048576 bytes/ },
  { name: "10 MB JSON string", inv: hl({}, () => `{"cniVersion":"1.0.0","name":"${"a".repeat(TEN_MB)}"}`), code: 5, msg: /larger than 1048576 bytes/ },
  // --- version
  { name: "unknown cniVersion", inv: hl({}, (d) => hostLocal(d, { cniVersion: "0.5.0" })), code: 1, msg: /incompatible CNI versions.*"0.5.0"/ },
  { name: "cniVersion a number", inv: hl({}, (d) => hostLocal(d, { cniVersion: 1 })), code: 6, msg: /cniVersion must be a string/ },
  { name: "CHECK on a 0.3.1 config", inv: hl({ command: "CHECK" }, (d) => hostLocal(d, { cniVersion: "0.3.1" })), code: 1, msg: /"0.3.1" does not allow CHECK/ },
  { name: "GC on a 1.0.0 config", inv: hl({ command: "GC" }, (d) => hostLocal(d)), code: 1, msg: /"1.0.0" does not allow GC/ },
  { name: "STATUS on a 1.0.0 config", inv: hl({ command: "STATUS" }, (d) => hostLocal(d)), code: 1, msg: /"1.0.0" does not allow STATUS/ },
  // --- network name
  { name: "missing name", inv: hl({}, (d) => hostLocal(d, { name: undefined })), code: 7, msg: /missing network name/ },
  { name: "name with ../", inv: hl({}, (d) => hostLocal(d, { name: "../../etc" })), code: 7, msg: /network name "..\/..\/etc"/ },
  { name: "name with /", inv: hl({}, (d) => hostLocal(d, { name: "a/b" })), code: 7, msg: /network name "a\/b"/ },
  { name: "name ..", inv: hl({}, (d) => hostLocal(d, { name: ".." })), code: 7, msg: /network name "\.\."/ },
  { name: "name a number", inv: hl({}, (d) => hostLocal(d, { name: 42 })), code: 6, msg: /name must be a string, got 42/ },
  // --- env
  { name: "unknown command", inv: hl({ command: "FROB" }, (d) => hostLocal(d)), code: 4, msg: /unknown CNI_COMMAND "FROB"/ },
  { name: "missing CNI_CONTAINERID", inv: hl({ containerId: undefined }, (d) => hostLocal(d)), code: 4, msg: /missing for ADD: CNI_CONTAINERID/ },
  { name: "container ID with /", inv: hl({ containerId: "a/../b" }, (d) => hostLocal(d)), code: 4, msg: /CNI_CONTAINERID "a\/..\/b"/ },
  { name: "16-character interface name", inv: hl({ ifName: "eth0123456789abc" }, (d) => hostLocal(d)), code: 4, msg: /CNI_IFNAME "eth0123456789abc" is longer than 15/ },
  { name: "interface name with /", inv: hl({ ifName: "eth/0" }, (d) => hostLocal(d)), code: 4, msg: /CNI_IFNAME "eth\/0" contains/ },
  { name: "interface name with a space", inv: hl({ ifName: "eth 0" }, (d) => hostLocal(d)), code: 4, msg: /CNI_IFNAME "eth 0" contains/ },
  { name: "missing CNI_IFNAME on DEL", inv: hl({ command: "DEL", ifName: undefined }, (d) => hostLocal(d)), code: 4, msg: /missing for DEL: CNI_IFNAME/ },
  { name: "GC without CNI_PATH", inv: hl({ command: "GC", path: undefined }, (d) => hostLocal(d, { cniVersion: "1.1.0" })), code: 4, msg: /missing for GC: CNI_PATH/ },
  { name: "CNI_ARGS pair without =", inv: hl({ args: "IgnoreUnknown=1;K8S_POD_NAME" }, (d) => hostLocal(d)), code: 4, msg: /CNI_ARGS: invalid pair "K8S_POD_NAME"/ },
  { name: "CNI_ARGS unknown key", inv: hl({ args: "FOO=bar" }, (d) => hostLocal(d)), code: 4, msg: /unknown keys "FOO"/ },
  { name: "CNI_ARGS IgnoreUnknown=maybe", inv: hl({ args: "IgnoreUnknown=maybe" }, (d) => hostLocal(d)), code: 4, msg: /IgnoreUnknown="maybe" is not a boolean/ },
  { name: "CNI_ARGS IP= not an IP", inv: hl({ args: "IP=10.88.0.999" }, (d) => hostLocal(d)), code: 4, msg: /IP="10.88.0.999"/ },
  // --- ipam
  { name: "host-local without ipam", inv: hl({}, (d) => ({ ...hostLocal(d), ipam: undefined })), code: 7, msg: /missing "ipam" section/ },
  { name: "no ranges", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [] })), code: 7, msg: /no IP ranges specified/ },
  { name: "ranges not a list", inv: hl({}, (d) => hostLocal(d, {}, { ranges: "10.88.0.0/24" })), code: 6, msg: /ipam.ranges must be a list, got "10.88.0.0\/24"/ },
  { name: "bad CIDR", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: "10.88.0.0/33" }]] })), code: 7, msg: /not a valid CIDR: "10.88.0.0\/33"/ },
  { name: "CIDR with spaces", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: " 10.88.0.0/24" }]] })), code: 7, msg: /not a valid CIDR: " 10.88.0.0\/24"/ },
  { name: "CIDR with host bits", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: "10.88.0.7/24" }]] })), code: 7, msg: /"10.88.0.7\/24" has host bits set/ },
  { name: "/31 too small", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: "10.88.0.0/31" }]] })), code: 7, msg: /"10.88.0.0\/31" is too small/ },
  { name: "gateway outside the subnet", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: "10.88.0.0/24", gateway: "10.89.0.1" }]] })), code: 7, msg: /gateway "10.89.0.1" is not in subnet "10.88.0.0\/24"/ },
  { name: "rangeEnd outside the subnet", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: "10.88.0.0/24", rangeEnd: "10.88.1.9" }]] })), code: 7, msg: /rangeEnd "10.88.1.9" is not in subnet/ },
  { name: "overlapping ranges in a set", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: "10.88.0.0/24" }, { subnet: "10.88.0.128/25" }]] })), code: 7, msg: /10.88.0.0\/24.*and 10.88.0.128\/25.*overlap/ },
  { name: "overlapping range sets", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: "10.88.0.0/16" }], [{ subnet: "10.88.5.0/24" }]] })), code: 7, msg: /range set 0 .* overlaps with range set 1/ },
  { name: "two IPv4 sets on 0.2.0", inv: hl({}, (d) => hostLocal(d, { cniVersion: "0.2.0" }, { ranges: [[{ subnet: "10.88.0.0/24" }], [{ subnet: "10.89.0.0/24" }]] })), code: 7, msg: /"0.2.0" does not support more than one address per family/ },
  { name: "requested IP outside every range", inv: hl({ args: "IP=10.99.0.5" }, (d) => hostLocal(d)), code: 101, msg: /failed to allocate all requested IPs: 10.99.0.5/ },
  { name: "requested IP is the gateway", inv: hl({ args: "IP=10.88.0.1" }, (d) => hostLocal(d)), code: 101, msg: /10.88.0.1 is the subnet's gateway/ },
  { name: "resolvConf missing", inv: hl({}, (d) => hostLocal(d, {}, { resolvConf: "/nonexistent/resolv.conf" })), code: 7, msg: /resolvConf "\/nonexistent\/resolv.conf" cannot be read/ },
  { name: "runtimeConfig.ips not an IP", inv: hl({}, (d) => hostLocal(d, { runtimeConfig: { ips: ["ten.0.0.1"] } })), code: 7, msg: /runtimeConfig.ips\[0\] .*"ten.0.0.1"/ },
  { name: "prevResult with a bad address", inv: hl({}, (d) => hostLocal(d, { prevResult: { ips: [{ address: "10.88.0.2" }] } })), code: 6, msg: /prevResult.ips\[0\]: "address" is not a valid CIDR: "10.88.0.2"/ },
  { name: "lockTimeoutMs negative", inv: hl({}, (d) => hostLocal(d, { lockTimeoutMs: -1 })), code: 7, msg: /lockTimeoutMs -1 is out of range/ },
  // --- kubenet / bridge configs (datapath executables: sandbox only)
  { name: "kubenet: unknown type", kernel: true, inv: k({}, (d) => kubenet(d, { type: "macvlan" })), code: 7, msg: /unknown plugin type "macvlan"/ },
  { name: "kubenet: no ipam", kernel: true, inv: k({}, (d) => ({ ...kubenet(d), ipam: undefined })), code: 7, msg: /missing "ipam" section/ },
  { name: "kubenet: mtu a string", kernel: true, inv: k({}, (d) => kubenet(d, { mtu: "1500" })), code: 6, msg: /mtu must be an integer, got "1500"/ },
  { name: "kubenet: mtu too small", kernel: true, inv: k({}, (d) => kubenet(d, { mtu: 10 })), code: 7, msg: /mtu 10 is out of range/ },
  { name: "kubenet: 16-character bridge name", kernel: true, inv: k({}, (d) => kubenet(d, { bridge: "cbr0123456789abc" })), code: 7, msg: /bridge name "cbr0123456789abc" is longer than 15/ },
  { name: "kubenet: bridge name with /", kernel: true, inv: k({}, (d) => kubenet(d, { bridge: "../cbr0" })), code: 7, msg: /bridge name "..\/cbr0" contains/ },
  { name: "kubenet: isGateway a string", kernel: true, inv: k({}, (d) => kubenet(d, { isGateway: "true" })), code: 6, msg: /isGateway must be true or false, got "true"/ },
  { name: "kubenet: gateway outside the subnet", kernel: true, inv: k({}, (d) => kubenet(d, {}, { ranges: [[{ subnet: "10.88.0.0/24", gateway: "192.168.0.1" }]] })), code: 7, msg: /gateway "192.168.0.1" is not in subnet/ },
  { name: "kubenet: network name with ../", kernel: true, inv: k({}, (d) => kubenet(d, { name: "../kubenet" })), code: 7, msg: /network name "..\/kubenet"/ },
  { name: "bridge: hairpin and promisc", kernel: true, inv: (d) => ({ ...ADD, bin: BRIDGE_BIN, config: kubenet(d, { type: "bridge", hairpinMode: true, promiscMode: true }) }), code: 7, msg: /hairpinMode and promiscMode/ },
  { name: "bridge: ipam.type with a path", kernel: true, inv: (d) => ({ ...ADD, bin: BRIDGE_BIN, config: kubenet(d, { type: "bridge", ipam: { type: "../../bin/sh" } }) }), code: 7, msg: /ipam.type "..\/..\/bin\/sh" is not a plugin name/ },
  { name: "kubenet: missing CNI_NETNS on ADD", kernel: true, inv: k({ netns: undefined }, (d) => kubenet(d)), code: 4, msg: /missing for ADD: CNI_NETNS/ },
  { name: "kubenet: interface name too long", kernel: true, inv: k({ ifName: "a-very-long-ifname" }, (d) => kubenet(d)), code: 4, msg: /CNI_IFNAME "a-very-long-ifname"/ },
  { name: "kubenet: netns path does not exist", kernel: true, inv: k({ netns: "/run/netns/does-not-exist" }, (d) => kubenet(d)), code: 110, msg: /"\/run\/netns\/does-not-exist" does not exist/ },
  {
    name: "kubenet: netns path is a regular file",
    kernel: true,
    inv: (d) => {
      const f = join(d, "not-a-netns");
      writeFileSync(f, "");
      return { ...ADD, bin: KUBENET_BIN, netns: f, config: kubenet(d) };
    },
    code: 110,
    msg: /not-a-netns" (does not exist or )?is not a network namespace/,
  },
  // --- strict values (issue 8): never trimmed, never "" for absent (before, IP=10.88.0.5\n was trimmed and a
  // lease allocated, IP= and "gateway": "" meant absent, and "bridge": "" became the default bridge)
  { name: "CNI_ARGS IP with a newline", inv: hl({ args: "IgnoreUnknown=1;IP=10.88.0.5\n" }, (d) => hostLocal(d)), code: 4, msg: /IP="10.88.0.5\\n"/ },
  { name: "CNI_ARGS IP empty", inv: hl({ args: "IgnoreUnknown=1;IP=" }, (d) => hostLocal(d)), code: 4, msg: /IP is empty/ },
  { name: "CNI_ARGS IP list with an empty item", inv: hl({ args: "IP=10.88.0.5," }, (d) => hostLocal(d)), code: 4, msg: /IP="10.88.0.5,": "" is not an IP address/ },
  { name: "gateway empty", inv: hl({}, (d) => hostLocal(d, {}, { ranges: [[{ subnet: "10.88.0.0/24", gateway: "" }]] })), code: 7, msg: /gateway is empty/ },
  { name: "dataDir with a trailing newline", inv: hl({}, (d) => hostLocal(d, {}, { dataDir: `${d}\n` })), code: 7, msg: /ipam.dataDir ".*\\n" has leading or trailing whitespace/ },
  { name: "route gw empty", inv: hl({}, (d) => hostLocal(d, {}, { routes: [{ dst: "0.0.0.0/0", gw: "" }] })), code: 7, msg: /ipam.routes\[0\].gw is empty/ },
  { name: "kubenet: bridge empty", kernel: true, inv: k({}, (d) => kubenet(d, { bridge: "" })), code: 7, msg: /bridge "" is empty/ },
  { name: "kubenet: dataDir empty", kernel: true, inv: k({}, (d) => kubenet(d, {}, { dataDir: "" })), code: 7, msg: /ipam.dataDir "" is empty/ },
  { name: "kubenet: ipam.type empty", kernel: true, inv: k({}, (d) => kubenet(d, {}, { type: "" })), code: 7, msg: /ipam.type "" is empty/ },
  { name: "kubenet: dns nameserver not an IP", kernel: true, inv: k({}, (d) => kubenet(d, { dns: { nameservers: ["10.0.0.10 "] } })), code: 7, msg: /dns.nameservers\[0\] is not a valid IP address: "10.0.0.10 "/ },
  { name: "kubenet: CNI_ARGS MAC empty", kernel: true, inv: k({ args: "MAC=" }, (d) => kubenet(d)), code: 4, msg: /MAC="" is not a MAC address/ },
  { name: "kubenet: CNI_NETNS with a newline", kernel: true, inv: k({ netns: "/run/netns/none\n" }, (d) => kubenet(d)), code: 4, msg: /CNI_NETNS "\/run\/netns\/none\\n" has leading or trailing whitespace/ },
  { name: "kubenet: CHECK on a 0.3.1 config", kernel: true, inv: k({ command: "CHECK" }, (d) => kubenet(d, { cniVersion: "0.3.1" })), code: 1, msg: /"0.3.1" does not allow CHECK/ },
];

/** Every file under dir with its mode and bytes: the "node state" a bad input must not change. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string, rel: string): void => {
    for (const name of readdirSync(p).sort()) {
      const full = join(p, name);
      const st = statSync(full);
      const key = `${rel}${name}`;
      if (st.isDirectory()) {
        out[`${key}/`] = (st.mode & 0o7777).toString(8);
        walk(full, `${key}/`);
      } else {
        out[key] = `${(st.mode & 0o7777).toString(8)} ${readFileSync(full).toString("base64")}`;
      }
    }
  };
  if (existsSync(dir)) walk(dir, "");
  return out;
}

function links(host: TestNetns | undefined): string[] {
  if (!host) return [];
  return (host.ipJson(["link", "show"]) as { ifname: string }[]).map((l) => l.ifname).sort();
}

t.test(`bad input: ${cases.length} cases`, async (t) => {
  t.ok(cases.length >= 40, "at least 40 cases");
  const host = KERNEL_SKIP ? undefined : createNetns(t, "badhost");
  for (const c of cases) {
    await t.test(c.name, { skip: c.kernel && !host ? KERNEL_SKIP : false }, async (t) => {
      const dataDir = tempDir(t, "kubenet-bad-");
      // A network with one live lease, so "unchanged" covers lock, last_reserved_ip and lease files.
      const seed = runPlugin({ ...ADD, containerId: "seed", bin: HOST_LOCAL_BIN, config: hostLocal(dataDir), ...(host ? { host } : {}) });
      if (seed.code !== 0) throw new Error(`seeding failed: ${describeRun(seed)}`);
      const before = snapshot(dataDir);
      const linksBefore = links(host);
      const r = runPlugin({ ...c.inv(dataDir, host), ...(host ? { host } : {}) });
      const err = errorOf(r);
      t.not(r.code, 0, "non-zero exit");
      t.equal(err?.code, c.code, `code ${c.code} (${describeRun(r)})`);
      t.match(err?.msg ?? "", c.msg, "message names the problem and quotes the value");
      t.match(r.stdout.trim(), /^\{[\s\S]*\}$/, "stdout holds only the error JSON");
      // No "fails fast" timing here: the harness's 60 s kill would show a hang; a loaded machine decides the rest.
      // Files created by the case itself (the regular-file "netns") are not node state.
      const after = snapshot(dataDir);
      delete after["not-a-netns"];
      t.same(after, before, "lease directory unchanged");
      if (host) t.same(links(host), linksBefore, "no link added in the host namespace");
    });
  }
});
