// Strict parsing of every field of every config the plugin reads (issue 8, part 3), one table: for each
// field, values that must be accepted (the valid edges) and values that must be refused with the CNI code and
// a message quoting the value. Refused means never "absent", never trimmed, never the default: "" (a template
// left blank), a stray space or newline, a wrong JSON type (6), out of range or an unknown enum value (7).
// CNI_ARGS values are the environment (4). The exec'd twin (nothing made on the node) is
// test/plugin/bad-input.test.ts.
import t from "tap";
import { checkCniArgValues, parseCniArgs } from "./cni-args.js";
import { CniError } from "./errors.js";
import { parseNetConf, type PluginName } from "./netconf.js";

type Conf = Record<string, unknown>;
const RANGES = [[{ subnet: "10.1.0.0/24" }]];
const base: Record<"kubenet" | "bridge" | "host-local" | "loopback" | "bandwidth", Conf> = {
  kubenet: { cniVersion: "1.1.0", name: "net1", type: "kubenet", ipam: { type: "host-local", ranges: RANGES } },
  bridge: { cniVersion: "1.1.0", name: "net1", type: "bridge", ipam: { type: "host-local", ranges: RANGES } },
  "host-local": { cniVersion: "1.1.0", name: "net1", type: "host-local", ipam: { type: "host-local", ranges: RANGES } },
  loopback: { cniVersion: "1.1.0", name: "net1", type: "loopback" },
  bandwidth: { cniVersion: "1.1.0", name: "net1", type: "bandwidth" },
};
type Base = keyof typeof base;

/** One field: how to put a value in, which config, the accepted values, the refused ones (value, code, message). */
interface Field {
  readonly field: string;
  readonly on: Base;
  readonly set: (conf: Conf, v: unknown) => Conf;
  readonly ok: readonly unknown[];
  readonly bad: readonly (readonly [unknown, number, RegExp?])[];
}

const top = (key: string) => (c: Conf, v: unknown): Conf => ({ ...c, [key]: v });
const ipam = (key: string) => (c: Conf, v: unknown): Conf => ({ ...c, ipam: { ...(c["ipam"] as Conf), [key]: v } });
const range = (key: string) => (c: Conf, v: unknown): Conf => ({ ...c, ipam: { type: "host-local", ranges: [[{ subnet: "10.1.0.0/24", [key]: v }]] } });
const rc = (key: string) => (c: Conf, v: unknown): Conf => ({ ...c, runtimeConfig: { [key]: v } });
const argsCni = (key: string) => (c: Conf, v: unknown): Conf => ({ ...c, args: { cni: { [key]: v } } });
const route = (r: Conf) => (c: Conf, v: unknown): Conf => ({ ...c, ipam: { ...(c["ipam"] as Conf), routes: [{ dst: "10.9.0.0/16", ...r, ...(v as Conf) }] } });
const dns = (c: Conf, v: unknown): Conf => ({ ...c, dns: v });
const attachments = (c: Conf, v: unknown): Conf => ({ ...c, "cni.dev/valid-attachments": v });
const q = (v: unknown): string => JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const BOOLS = ["isGateway", "isDefaultGateway", "forceAddress", "ipMasq", "hairpinMode", "promiscMode", "preserveDefaultVlan", "macspoofchk", "enabledad", "disableContainerInterface", "portIsolation"];

const FIELDS: Field[] = [
  // --- identity
  { field: "cniVersion", on: "loopback", set: top("cniVersion"), ok: ["1.1.0", "0.1.0", "", null], bad: [[" 1.0.0", 1], ["1.0.0\n", 1], ["1.0", 1], ["9.9.9", 1], [1, 6], [true, 6]] },
  { field: "name", on: "loopback", set: top("name"), ok: ["a", "a-b_c.9", "A".repeat(200)], bad: [["", 7, /missing network name/], [" net1", 7], ["net1\n", 7], ["a b", 7], [".net", 7], ["-net", 7], [5, 6]] },
  { field: "type", on: "loopback", set: top("type"), ok: ["loopback"], bad: [["", 7, /type is empty/], ["Loopback", 7], [" loopback", 7], ["macvlan", 7], [1, 6]] },
  // --- bridge / kubenet keys
  { field: "bridge", on: "bridge", set: top("bridge"), ok: ["cbr0", "a", "b".repeat(15), null], bad: [["", 7, /bridge "" is empty/], [" cbr0", 7], ["cbr0\n", 7], ["b".repeat(16), 7], ["br/0", 7], ["br:0", 7], [".", 7], [0, 6]] },
  ...BOOLS.map((key): Field => ({ field: key, on: "bridge", set: top(key), ok: [false, null], bad: [["true", 6], [1, 6], ["", 6], [[], 6]] })),
  { field: "ipMasqBackend", on: "bridge", set: top("ipMasqBackend"), ok: ["iptables", "nftables", null], bad: [["", 7], ["IPTABLES", 7], [" iptables", 7], ["pf", 7], [1, 6]] },
  { field: "mtu", on: "bridge", set: top("mtu"), ok: [0, 68, 1500, 65535], bad: [[67, 7], [65536, 7], [-1, 7], [1500.5, 6], ["1500", 6]] },
  { field: "vlan", on: "bridge", set: top("vlan"), ok: [0, 1, 4094], bad: [[-1, 7], [4095, 7], [1.5, 6], ["1", 6]] },
  { field: "vlanTrunk", on: "bridge", set: top("vlanTrunk"), ok: [[], [{ id: 1 }], [{ id: 4094 }], [{ minID: 1, maxID: 4094 }]], bad: [[[{ id: 0 }], 7], [[{ id: 4095 }], 7], [[{ minID: 5, maxID: 4 }], 7], [[{ minID: 5 }], 7], [[{}], 7], [[1], 6], ["x", 6], [[{ id: "1" }], 6]] },
  { field: "lockTimeoutMs", on: "loopback", set: top("lockTimeoutMs"), ok: [1, 60_000, 600_000], bad: [[0, 7], [-5, 7], [600_001, 7], [1.5, 6], ["1000", 6]] },
  { field: "logFile", on: "loopback", set: top("logFile"), ok: ["/var/log/kubenet.log", null], bad: [["", 7, /logFile "" is empty/], ["kubenet.log", 7, /not an absolute path/], [" /var/log/k.log", 7, /whitespace/], ["/var/log/k.log\n", 7, /whitespace/], ["/var/log/a\u0007b", 7, /control character/], [1, 6]] },
  { field: "agentSocket", on: "loopback", set: top("agentSocket"), ok: ["off", "/run/kubenet/cni.sock"], bad: [["", 7], ["cni.sock", 7], ["/run/kubenet/cni.sock\n", 7, /whitespace/], [`/${"s".repeat(107)}`, 7], [1, 6]] },
  { field: "dns", on: "loopback", set: dns, ok: [{}, { nameservers: ["10.0.0.10", "fd00::a"], domain: "cluster.local", search: ["a.svc.cluster.local"], options: ["ndots:5"] }], bad: [[{ nameservers: ["10.0.0.10 "] }, 7], [{ nameservers: ["dns.local"] }, 7], [{ nameservers: [""] }, 7], [{ domain: "" }, 7], [{ domain: "a b" }, 7], [{ search: [""] }, 7], [{ options: ["ndots:5\n"] }, 7], [{ nameservers: "10.0.0.10" }, 6], ["x", 6]] },
  // --- ipam (host-local)
  { field: "ipam.type", on: "kubenet", set: ipam("type"), ok: ["host-local", null], bad: [["", 7, /ipam.type "" is empty/], [" host-local", 7], ["a/b", 7], [1, 6]] },
  { field: "ipam.type (bridge)", on: "bridge", set: (c, v) => ({ ...c, ipam: v === undefined ? {} : { type: v } }), ok: [undefined, "dhcp"], bad: [["", 7], ["dhcp\n", 7], ["../dhcp", 7]] },
  { field: "ipam.dataDir", on: "kubenet", set: ipam("dataDir"), ok: ["/var/lib/cni/networks", "/d", null], bad: [["", 7, /ipam.dataDir "" is empty/], ["networks", 7], ["/var/lib/cni/networks ", 7], ["/var/lib/cni/networks\n", 7], ["/var/lib/\u0000", 7], [1, 6]] },
  { field: "ipam.resolvConf", on: "kubenet", set: ipam("resolvConf"), ok: ["/etc/resolv.conf", null], bad: [["", 7], ["resolv.conf", 7], ["/etc/resolv.conf\n", 7], [1, 6]] },
  { field: "ipam.reclaimAfterReboot", on: "kubenet", set: ipam("reclaimAfterReboot"), ok: [true, false, null], bad: [["true", 6], [0, 6]] },
  { field: "ipam.subnet (legacy)", on: "kubenet", set: (c, v) => ({ ...c, ipam: { type: "host-local", subnet: v } }), ok: ["10.1.0.0/24", "10.1.0.0/30", "fd00::/126"], bad: [["", 7, /subnet is empty/], [" 10.1.0.0/24", 7], ["10.1.0.0/24\n", 7], ["10.1.0.1/24", 7], ["10.1.0.0/31", 7], ["10.1.0.0", 7], [24, 6]] },
  { field: "ranges[].subnet", on: "kubenet", set: (c, v) => ({ ...c, ipam: { type: "host-local", ranges: [[{ subnet: v }]] } }), ok: ["10.1.0.0/24", "0.0.0.0/0"], bad: [["", 7, /subnet is empty/], ["10.1.0.0/24 ", 7], ["010.1.0.0/24", 7], ["10.1.0.0/33", 7], [null, 7, /subnet is missing/], [1, 6]] },
  ...["gateway", "rangeStart", "rangeEnd"].map((key): Field => ({ field: `ranges[].${key}`, on: "kubenet", set: range(key), ok: ["10.1.0.1", "10.1.0.254", null], bad: [["", 7, new RegExp(`${key} is empty`)], [" 10.1.0.9", 7], ["10.1.0.9\n", 7], ["010.1.0.9", 7], ["10.2.0.9", 7, /is not in subnet/], ["fd00::9", 7], [9, 6]] })),
  { field: "ipam.ranges", on: "kubenet", set: ipam("ranges"), ok: [RANGES, [[{ subnet: "10.1.0.0/24" }], [{ subnet: "fd00::/64" }]]], bad: [["x", 6], [[], 7], [[[]], 7], [[[1]], 6], [[{ subnet: "10.1.0.0/24" }], 6]] },
  { field: "ipam.routes[].dst", on: "kubenet", set: (c, v) => ({ ...c, ipam: { ...(c["ipam"] as Conf), routes: [{ dst: v }] } }), ok: ["0.0.0.0/0", "::/0"], bad: [["", 7], [" 0.0.0.0/0", 7], ["0.0.0.0", 7], [null, 7], [0, 7]] },
  { field: "ipam.routes[].gw", on: "kubenet", set: route({}), ok: [{ gw: "10.1.0.1" }, {}], bad: [[{ gw: "" }, 7, /gw is empty/], [{ gw: "10.1.0.1 " }, 7], [{ gw: 1 }, 7]] },
  { field: "ipam.routes[] integers", on: "kubenet", set: route({}), ok: [{ mtu: 0, advmss: 65535, priority: 4294967295, table: 254, scope: 255 }], bad: [[{ mtu: -1 }, 7, /mtu -1 is out of range/], [{ mtu: 65536 }, 7], [{ advmss: -1 }, 7], [{ priority: -1 }, 7], [{ priority: 4294967296 }, 7], [{ table: -1 }, 7], [{ scope: 256 }, 7], [{ mtu: 1.5 }, 7], [{ scope: "0" }, 7]] },
  // --- runtimeConfig and args
  { field: "runtimeConfig", on: "loopback", set: top("runtimeConfig"), ok: [{}, null], bad: [["x", 6], [[], 6]] },
  { field: "runtimeConfig.ips", on: "loopback", set: rc("ips"), ok: [[], ["10.1.0.5", "10.1.0.5/24", "fd00::5"]], bad: [[[""], 7], [["10.1.0.5 "], 7], [["10.1.0.5\n"], 7], [["10.1.0.300"], 7], ["10.1.0.5", 6], [[5], 6]] },
  { field: "runtimeConfig.mac", on: "bridge", set: rc("mac"), ok: ["c2:11:22:33:44:55", "C2:11:22:33:44:55", null], bad: [["", 7], ["c2:11:22:33:44:55\n", 7], ["c2-11-22-33-44-55", 7], ["c2:11:22:33:44", 7], [1, 6]] },
  { field: "runtimeConfig.ipRanges", on: "kubenet", set: rc("ipRanges"), ok: [[[{ subnet: "10.2.0.0/24" }]]], bad: [[[[{ subnet: "" }]], 7], [[[{ subnet: "10.2.0.0/24\n" }]], 7], ["x", 6]] },
  { field: "runtimeConfig.bandwidth", on: "bandwidth", set: rc("bandwidth"), ok: [{ ingressRate: 8, ingressBurst: 8 }, { egressRate: 1e9, egressBurst: 4294967295 }, {}], bad: [[{ ingressRate: -1 }, 6], [{ ingressRate: 1000 }, 7], [{ ingressRate: 1000, ingressBurst: 7 }, 7], [{ ingressRate: "1M", ingressBurst: 8 }, 6], [{ egressRate: 1.5, egressBurst: 8 }, 6], ["x", 6]] },
  { field: "ingressRate/ingressBurst (static)", on: "bandwidth", set: (c, v) => ({ ...c, ...(v as Conf) }), ok: [{ ingressRate: 8, ingressBurst: 8 }, { ingressRate: 0, ingressBurst: 0 }], bad: [[{ ingressRate: 8 }, 7], [{ ingressBurst: 8 }, 7], [{ ingressRate: "8", ingressBurst: 8 }, 6], [{ egressRate: 8, egressBurst: -8 }, 6]] },
  { field: "args", on: "loopback", set: top("args"), ok: [{}, { cni: {} }], bad: [["x", 6], [{ cni: "x" }, 6]] },
  { field: "args.cni.ips", on: "loopback", set: argsCni("ips"), ok: [["10.1.0.7"]], bad: [[[" 10.1.0.7"], 7], [[""], 7], ["10.1.0.7", 6]] },
  { field: "args.cni.mac", on: "bridge", set: argsCni("mac"), ok: ["c2:11:22:33:44:55"], bad: [["", 7], ["zz:11:22:33:44:55", 7], [1, 6]] },
  { field: "cni.dev/valid-attachments", on: "loopback", set: attachments, ok: [[], [{ containerID: "abc", ifname: "eth0" }]], bad: [[[{ containerID: "", ifname: "eth0" }], 7], [[{ containerID: "abc ", ifname: "eth0" }], 7], [[{ containerID: "abc", ifname: "" }], 7], [[{ containerID: "abc", ifname: "eth0\n" }], 7], [[{ containerID: 1, ifname: "eth0" }], 6], ["x", 6]] },
  { field: "prevResult", on: "loopback", set: top("prevResult"), ok: [{ cniVersion: "1.1.0", ips: [{ address: "10.1.0.5/24" }] }], bad: [["x", 6], [{ cniVersion: "1.1.0", ips: [{ address: "10.1.0.5/24 " }] }, 6]] },
];

const invokedFor = (on: Base): PluginName => (on === "host-local" ? "host-local" : "kubenet");

for (const f of FIELDS) {
  t.test(f.field, async (t) => {
    for (const v of f.ok) {
      const conf = f.set(base[f.on], v);
      try {
        parseNetConf(JSON.stringify(conf), invokedFor(f.on));
        t.pass(`accepts ${JSON.stringify(v)}`);
      } catch (e) {
        t.fail(`accepts ${JSON.stringify(v)}`, { got: e instanceof Error ? e.message : String(e) });
      }
    }
    for (const [v, code, re] of f.bad) {
      const conf = f.set(base[f.on], v);
      let err: unknown;
      try {
        parseNetConf(JSON.stringify(conf), invokedFor(f.on));
      } catch (e) {
        err = e;
      }
      const got = err instanceof CniError ? { code: err.code, msg: err.message } : { code: undefined, msg: String(err) };
      // The message quotes the value (strings as JSON text, other values as written).
      const quoted = typeof v === "string" && v !== "" ? new RegExp(q(v)) : /./;
      t.ok(err instanceof CniError && got.code === code && (re ?? quoted).test(got.msg) && (typeof v !== "string" || quoted.test(got.msg)), `refuses ${JSON.stringify(v)} with ${code}`, { got, wanted: { code, re: String(re ?? quoted) } });
    }
  });
}

t.test("CNI_ARGS values (the environment: code 4, never trimmed, never empty for absent)", async (t) => {
  const ok = ["IP=10.1.0.5", "IP=10.1.0.5,10.1.0.6", "IP=10.1.0.5/24", "IP=fd00::5", "MAC=c2:11:22:33:44:55", "MAC=C2:11:22:33:44:55", "IgnoreUnknown=1;K8S_POD_NAME=web-0", "IgnoreUnknown=TRUE", ""];
  for (const text of ok) {
    try {
      checkCniArgValues(parseCniArgs(text));
      t.pass(`accepts ${JSON.stringify(text)}`);
    } catch (e) {
      t.fail(`accepts ${JSON.stringify(text)}`, { got: e instanceof Error ? e.message : String(e) });
    }
  }
  const bad: [string, RegExp][] = [
    ["IP=10.1.0.5\n", /IP="10.1.0.5\\n"/],
    ["IP= 10.1.0.5", /" 10.1.0.5"/],
    ["IP=", /IP is empty/],
    ["IP=10.1.0.5,", /"" is not an IP address/],
    ["IP=10.1.0.5,,10.1.0.6", /"" is not an IP address/],
    ["IP=10.1.0.300", /"10.1.0.300"/],
    ["MAC=", /MAC="" is not a MAC address/],
    ["MAC=c2:11:22:33:44:55 ", /MAC="c2:11:22:33:44:55 "/],
    ["MAC=c3:11:22:33:44:55", /multicast/],
    ["IgnoreUnknown=yes", /IgnoreUnknown="yes" is not a boolean/],
    ["A=1;;B=2", /invalid pair ""/],
    ["A=1;", /invalid pair ""/],
    ["A", /invalid pair "A"/],
    ["A=1=2", /invalid pair "A=1=2"/],
    ["=1", /invalid pair "=1"/],
  ];
  for (const [text, re] of bad) {
    let err: unknown;
    try {
      checkCniArgValues(parseCniArgs(text));
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof CniError && err.code === 4 && re.test(err.message), `refuses ${JSON.stringify(text)} with 4`, { got: err instanceof Error ? err.message : String(err) });
  }
});
