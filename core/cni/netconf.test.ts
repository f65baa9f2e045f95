import t from "tap";
import { throwsCni } from "../../test/support/assert-cni.js";
import { MALFORMED_HINTS, MALFORMED_PREV_RESULTS } from "../../test/support/malformed-inputs.js";
import { formatCidr, formatIp } from "../ip.js";
import { parseNetConf, type HostLocalIpamConf, type NetConf, type PluginName } from "./netconf.js";
import { DEFAULT_AGENT_SOCKET, agentSocketProblem, peekAgentSocket } from "./peek.js";

const hl = (ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: "1.0.0", name: "net1", type: "host-local", ipam: { type: "host-local", ...ipam }, ...extra });

function hostLocal(conf: NetConf): HostLocalIpamConf {
  if (conf.ipam?.kind !== "host-local") throw new Error("not host-local");
  return conf.ipam;
}

const rangeText = (conf: NetConf) =>
  hostLocal(conf).ranges.map((set) =>
    set.map((r) => `${formatCidr(r.subnet)} ${formatIp(r.rangeStart)}-${formatIp(r.rangeEnd)} gw=${r.gateway ? formatIp(r.gateway) : "-"}`),
  );

t.test("kubenet defaults (the agent's config)", async (t) => {
  const conf = parseNetConf(
    JSON.stringify({
      cniVersion: "1.1.0",
      name: "kubenet",
      type: "kubenet",
      mtu: 1460,
      addIf: "eth0",
      ipam: { type: "host-local", ranges: [[{ subnet: "172.20.1.0/24", gateway: "172.20.1.1" }]], routes: [{ dst: "0.0.0.0/0" }] },
    }),
    "kubenet",
  );
  t.equal(conf.plugin, "kubenet");
  t.same(conf.bridge, {
    bridge: "cbr0",
    isGateway: true,
    isDefaultGateway: true,
    forceAddress: true,
    ipMasq: false,
    ipMasqBackend: undefined,
    mtu: 1460,
    hairpinMode: true,
    promiscMode: false,
    vlan: 0,
    vlanTrunk: [],
    preserveDefaultVlan: false,
    macspoofchk: false,
    enabledad: false,
    disableContainerInterface: false,
    portIsolation: false,
  });
  t.same(rangeText(conf), [["172.20.1.0/24 172.20.1.1-172.20.1.254 gw=172.20.1.1"]]);
  t.equal(hostLocal(conf).dataDir, "/var/lib/cni/networks");
  t.equal(conf.lockTimeoutMs, 60000);
  t.equal(conf.raw["addIf"], "eth0", "unknown keys are kept");
});

t.test("kubenet ipam.type defaults to host-local; bridge defaults are the reference's", async (t) => {
  const k = parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "k", type: "kubenet", ipam: { subnet: "10.0.0.0/24" } }), "kubenet");
  t.equal(k.ipam?.kind, "host-local");
  const b = parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "b", type: "bridge", ipam: {} }), "kubenet");
  t.equal(b.plugin, "bridge");
  t.equal(b.ipam, undefined, "ipam {} = L2 only");
  t.match(b.bridge, { bridge: "cni0", isGateway: false, isDefaultGateway: false, forceAddress: false, hairpinMode: false, mtu: 0 });
  const gw = parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "b", type: "bridge", isDefaultGateway: true }), "bridge");
  t.equal(gw.bridge?.isGateway, true, "isDefaultGateway implies isGateway");
  const d = parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "b", type: "bridge", ipam: { type: "dhcp" } }), "bridge");
  t.same(d.ipam, { kind: "delegated", type: "dhcp" });
  const promisc = parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "k", type: "kubenet", promiscMode: true, ipam: { subnet: "10.0.0.0/24" } }), "kubenet");
  t.equal(promisc.bridge?.hairpinMode, false, "kubenet: promiscMode turns the hairpin default off");
});

t.test("invoked name vs type", async (t) => {
  const cases: [PluginName, string | undefined, PluginName][] = [
    ["kubenet", "bridge", "bridge"],
    ["kubenet", "loopback", "loopback"],
    ["kubenet", "host-local", "host-local"],
    ["kubenet", undefined, "kubenet"],
    ["bridge", "whatever", "bridge"],
    ["host-local", "bridge", "host-local"],
    ["loopback", "loopback", "loopback"],
  ];
  for (const [invoked, type, want] of cases) {
    const conf = parseNetConf(JSON.stringify({ cniVersion: "0.3.1", name: "n", type, ipam: { type: "host-local", subnet: "10.0.0.0/24" } }), invoked);
    t.equal(conf.plugin, want, `${invoked} + ${type}`);
  }
});

t.test("cniVersion handling", async (t) => {
  t.equal(parseNetConf(JSON.stringify({ name: "n", type: "loopback" }), "loopback").cniVersion, "0.1.0", "missing => 0.1.0 (Go lib)");
  t.equal(parseNetConf(JSON.stringify({ cniVersion: "", name: "n" }), "loopback").cniVersion, "0.1.0");
  const e = throwsCni(t, () => parseNetConf(JSON.stringify({ cniVersion: "0.5.0", name: "n" }), "loopback"), 1, /incompatible CNI versions.*"0.5.0"/);
  t.match(e?.details, /plugin supports \["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"\]/);
});

t.test("host-local range canonicalisation (host-local's defaults)", async (t) => {
  const cases: [Record<string, unknown>, string[][]][] = [
    [{ subnet: "10.1.2.0/24" }, [["10.1.2.0/24 10.1.2.1-10.1.2.254 gw=10.1.2.1"]]],
    [{ subnet: "10.1.0.0/16" }, [["10.1.0.0/16 10.1.0.1-10.1.255.254 gw=10.1.0.1"]]],
    [{ subnet: "10.1.2.0/30" }, [["10.1.2.0/30 10.1.2.1-10.1.2.2 gw=10.1.2.1"]]],
    [{ subnet: "10.1.2.0/24", gateway: "10.1.2.254" }, [["10.1.2.0/24 10.1.2.1-10.1.2.254 gw=10.1.2.254"]]],
    [{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.10", rangeEnd: "10.1.2.20" }, [["10.1.2.0/24 10.1.2.10-10.1.2.20 gw=10.1.2.1"]]],
    [{ subnet: "2001:db8::/64" }, [["2001:db8::/64 2001:db8::1-2001:db8::ffff:ffff:ffff:ffff gw=2001:db8::1"]]],
    [{ subnet: "2001:db8::/126" }, [["2001:db8::/126 2001:db8::1-2001:db8::3 gw=2001:db8::1"]]],
    [
      { ranges: [[{ subnet: "10.1.0.0/24" }, { subnet: "10.2.0.0/24" }], [{ subnet: "fd00::/120" }]] },
      [["10.1.0.0/24 10.1.0.1-10.1.0.254 gw=10.1.0.1", "10.2.0.0/24 10.2.0.1-10.2.0.254 gw=10.2.0.1"], ["fd00::/120 fd00::1-fd00::ff gw=fd00::1"]],
    ],
    [
      { subnet: "10.9.0.0/24", ranges: [[{ subnet: "10.1.0.0/24" }]] },
      [["10.9.0.0/24 10.9.0.1-10.9.0.254 gw=10.9.0.1"], ["10.1.0.0/24 10.1.0.1-10.1.0.254 gw=10.1.0.1"]],
    ],
    [
      // Same subnet, disjoint ranges: allowed (host-local compares address ranges, not subnets).
      { ranges: [[{ subnet: "10.1.0.0/24", rangeStart: "10.1.0.10", rangeEnd: "10.1.0.19" }, { subnet: "10.1.0.0/24", rangeStart: "10.1.0.20", rangeEnd: "10.1.0.29" }]] },
      [["10.1.0.0/24 10.1.0.10-10.1.0.19 gw=10.1.0.1", "10.1.0.0/24 10.1.0.20-10.1.0.29 gw=10.1.0.1"]],
    ],
  ];
  for (const [ipam, want] of cases) t.same(rangeText(parseNetConf(hl(ipam), "host-local")), want, JSON.stringify(ipam));
  const withRuntime = parseNetConf(hl({ ranges: [[{ subnet: "10.1.0.0/24" }]] }, { runtimeConfig: { ipRanges: [[{ subnet: "10.5.0.0/24" }]] } }), "host-local");
  t.same(rangeText(withRuntime)[0], ["10.5.0.0/24 10.5.0.1-10.5.0.254 gw=10.5.0.1"], "runtimeConfig.ipRanges first");
});

t.test("bad configs: code and a message quoting the key and value", async (t) => {
  const cases: [string, string | Record<string, unknown>, number, RegExp][] = [
    ["not JSON", "{", 6, /not valid JSON/],
    ["truncated", '{"cniVersion":"1.0.0","name":"n"', 6, /not valid JSON/],
    ["empty", "", 6, /no network configuration on stdin/],
    ["array", "[]", 6, /must be a JSON object/],
    ["string", '"x"', 6, /must be a JSON object/],
    ["cniVersion number", { cniVersion: 1, name: "n" }, 6, /cniVersion must be a string/],
    ["missing name", { cniVersion: "1.0.0" }, 7, /missing network name/],
    ["name number", { cniVersion: "1.0.0", name: 5 }, 6, /name must be a string/],
    ["name traversal", { cniVersion: "1.0.0", name: "../etc" }, 7, /invalid characters found in network name "..\/etc"/],
    ["name slash", { cniVersion: "1.0.0", name: "a/b" }, 7, /network name "a\/b"/],
    ["name dot", { cniVersion: "1.0.0", name: ".hidden" }, 7, /network name ".hidden"/],
    ["name space", { cniVersion: "1.0.0", name: "a b" }, 7, /network name "a b"/],
    ["unknown type", { cniVersion: "1.0.0", name: "n", type: "macvlan" }, 7, /unknown plugin type "macvlan"/],
    ["type number", { cniVersion: "1.0.0", name: "n", type: 3 }, 6, /type must be a string/],
    ["kubenet no ipam", { cniVersion: "1.0.0", name: "n", type: "kubenet" }, 7, /missing "ipam" section/],
    ["ipam not object", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: "host-local" }, 6, /ipam must be an object/],
    ["no ranges", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { type: "host-local" } }, 7, /no IP ranges specified/],
    ["bad cidr", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.0/33" } }, 7, /ipam.subnet is not a valid CIDR: "10.1.2.0\/33"/],
    ["cidr junk", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { ranges: [[{ subnet: "banana" }]] } }, 7, /ipam.ranges\[0\]\[0\].subnet is not a valid CIDR: "banana"/],
    ["cidr type", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { ranges: [[{ subnet: 10 }]] } }, 6, /subnet must be a CIDR string, got 10/],
    ["ranges not list", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { ranges: { subnet: "10.0.0.0/24" } } }, 6, /ipam.ranges must be a list/],
    ["range set not list", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { ranges: [{ subnet: "10.0.0.0/24" }] } }, 6, /ipam.ranges\[0\] must be a list of ranges/],
    ["empty range set", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { ranges: [[]] } }, 7, /empty range set/],
    ["host bits", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.5/24" } }, 7, /"10.1.2.5\/24" has host bits set.*10.1.2.0/],
    ["/31", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.0/31" } }, 7, /too small to allocate from/],
    ["/32", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.0/32" } }, 7, /too small/],
    ["/127", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "fd00::/127" } }, 7, /too small/],
    ["gw outside", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.0/24", gateway: "10.1.3.1" } }, 7, /ipam.gateway "10.1.3.1" is not in subnet "10.1.2.0\/24"/],
    ["gw bad", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.0/24", gateway: "10.1.2.x" } }, 7, /ipam.gateway is not a valid IP address: "10.1.2.x"/],
    ["gw v6 in v4", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.0/24", gateway: "fd00::1" } }, 7, /"fd00::1" is not in subnet/],
    ["rangeStart outside", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.0/24", rangeStart: "10.1.9.1" } }, 7, /rangeStart "10.1.9.1" is not in subnet/],
    ["start after end", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.0/24", rangeStart: "10.1.2.50", rangeEnd: "10.1.2.40" } }, 7, /rangeStart 10.1.2.50 is after rangeEnd 10.1.2.40/],
    ["overlap in set", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { ranges: [[{ subnet: "10.1.0.0/16" }, { subnet: "10.1.2.0/24" }]] } }, 7, /ranges 10.1.0.0\/16 .* and 10.1.2.0\/24 .* overlap/],
    ["overlap across sets", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { ranges: [[{ subnet: "10.1.0.0/16" }], [{ subnet: "10.1.2.0/24" }]] } }, 7, /range set 0 .* overlaps with range set 1/],
    ["mixed families", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { ranges: [[{ subnet: "10.1.0.0/16" }, { subnet: "fd00::/64" }]] } }, 7, /mixes address families/],
    ["two v4 sets on 0.2.0", { cniVersion: "0.2.0", name: "n", type: "kubenet", ipam: { ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "10.2.0.0/24" }]] } }, 7, /"0.2.0" does not support more than one address per family/],
    ["route dst bad", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.0.0/24", routes: [{ dst: "0.0.0.0" }] } }, 7, /ipam.routes\[0\].*"0.0.0.0"/],
    ["routes not list", { cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.0.0/24", routes: "x" } }, 6, /ipam.routes must be a list/],
    ["mtu string", { cniVersion: "1.0.0", name: "n", type: "kubenet", mtu: "1500", ipam: { subnet: "10.1.0.0/24" } }, 6, /mtu must be an integer, got "1500"/],
    ["mtu range", { cniVersion: "1.0.0", name: "n", type: "kubenet", mtu: 70000, ipam: { subnet: "10.1.0.0/24" } }, 7, /mtu 70000 is out of range/],
    ["hairpin string", { cniVersion: "1.0.0", name: "n", type: "bridge", hairpinMode: "yes" }, 6, /hairpinMode must be true or false, got "yes"/],
    ["hairpin+promisc", { cniVersion: "1.0.0", name: "n", type: "bridge", hairpinMode: true, promiscMode: true }, 7, /cannot set hairpinMode and promiscMode/],
    ["bridge name long", { cniVersion: "1.0.0", name: "n", type: "bridge", bridge: "a-very-long-bridge" }, 7, /bridge name "a-very-long-bridge" is longer than 15 bytes/],
    ["bridge name slash", { cniVersion: "1.0.0", name: "n", type: "bridge", bridge: "br/0" }, 7, /bridge name "br\/0" contains/],
    ["vlan", { cniVersion: "1.0.0", name: "n", type: "bridge", vlan: 5000 }, 7, /invalid VLAN ID 5000/],
    ["vlan+trunk", { cniVersion: "1.0.0", name: "n", type: "bridge", vlan: 5, vlanTrunk: [{ id: 6 }] }, 7, /vlan and vlanTrunk/],
    ["masq backend", { cniVersion: "1.0.0", name: "n", type: "bridge", ipMasqBackend: "pf" }, 7, /ipMasqBackend "pf"/],
    ["L2 flag + ipam", { cniVersion: "1.0.0", name: "n", type: "bridge", disableContainerInterface: true, ipam: { type: "host-local", subnet: "10.0.0.0/24" } }, 7, /disableContainerInterface/],
    ["ipam type path", { cniVersion: "1.0.0", name: "n", type: "bridge", ipam: { type: "../bin/sh" } }, 7, /ipam.type "..\/bin\/sh" is not a plugin name/],
    ["prevResult bad", { cniVersion: "1.0.0", name: "n", type: "loopback", prevResult: { ips: [{ address: "x" }] } }, 6, /prevResult.ips\[0\]: "address" is not a valid CIDR: "x"/],
    ["prevResult version", { cniVersion: "1.0.0", name: "n", type: "loopback", prevResult: { cniVersion: "7.0.0" } }, 1, /prevResult: unsupported cniVersion "7.0.0"/],
    ["runtimeConfig type", { cniVersion: "1.0.0", name: "n", type: "loopback", runtimeConfig: [] }, 6, /runtimeConfig must be an object/],
    ["runtimeConfig.ips bad", { cniVersion: "1.0.0", name: "n", type: "loopback", runtimeConfig: { ips: ["10.0.0.300"] } }, 7, /runtimeConfig.ips\[0\] is not a valid IP address or CIDR: "10.0.0.300"/],
    ["args.cni.ips bad", { cniVersion: "1.0.0", name: "n", type: "loopback", args: { cni: { ips: [7] } } }, 6, /args.cni.ips\[0\] must be an IP address string/],
    ["mac bad", { cniVersion: "1.0.0", name: "n", type: "bridge", runtimeConfig: { mac: "zz:zz" } }, 7, /runtimeConfig.mac "zz:zz" is not a MAC address/],
    ["attachments bad", { cniVersion: "1.1.0", name: "n", type: "loopback", "cni.dev/valid-attachments": [{ containerID: 1 }] }, 6, /"cni.dev\/valid-attachments"\[0\] must be/],
    ["lockTimeoutMs", { cniVersion: "1.0.0", name: "n", type: "loopback", lockTimeoutMs: 0 }, 7, /lockTimeoutMs 0 is out of range/],
    ["dns bad", { cniVersion: "1.0.0", name: "n", type: "loopback", dns: { search: "a" } }, 6, /"search" must be a list of strings/],
    ["host-local no ipam", { cniVersion: "1.0.0", name: "n", type: "host-local" }, 7, /missing "ipam" section/],
  ];
  for (const [name, input, code, re] of cases) {
    throwsCni(t, () => parseNetConf(typeof input === "string" ? input : JSON.stringify(input), "kubenet"), code, re, name);
  }
});

t.test("DEL is lenient about ranges (never depends on the current PodCIDR)", async (t) => {
  const bad = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { subnet: "10.1.2.5/24" } });
  const conf = parseNetConf(bad, "kubenet", { lenientIpam: true });
  t.same(hostLocal(conf).ranges, []);
  const none = parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "kubenet", ipam: { dataDir: "/x" } }), "kubenet", { lenientIpam: true });
  t.equal(hostLocal(none).dataDir, "/x");
});

t.test("DEL: a malformed prevResult or hint is ignored (listed), every other command rejects it", async (t) => {
  const base = { cniVersion: "1.0.0", name: "n", type: "kubenet", ipMasq: true, ipam: { type: "host-local", dataDir: "/leases", ranges: [[{ subnet: "10.1.0.0/24" }]] } };
  const inputs: [string, Record<string, unknown>][] = [
    ...MALFORMED_PREV_RESULTS.map(([name, prev]): [string, Record<string, unknown>] => [`prevResult ${name}`, { prevResult: prev }]),
    ...MALFORMED_HINTS,
    ["ipam not an object", { ipam: "host-local" }],
    ["ipam.type a number", { ipam: { type: 1, dataDir: "/leases" } }],
    ["ipam.dataDir a number", { ipam: { type: "host-local", dataDir: 1 } }],
    ["ipam.routes a string", { ipam: { ...base.ipam, routes: "x" } }],
    ["ipam.reclaimAfterReboot a string", { ipam: { ...base.ipam, reclaimAfterReboot: "yes" } }],
  ];
  for (const [name, over] of inputs) {
    const text = JSON.stringify({ ...base, ...over });
    const conf = parseNetConf(text, "kubenet", { del: true });
    t.ok(conf.ignored.length > 0, `${name}: listed as ignored (${conf.ignored.join("; ")})`);
    t.equal(conf.prevResult, undefined, `${name}: no prevResult used`);
    t.equal(conf.bridge?.ipMasq, true, `${name}: ipMasq still known (the chain is removed)`);
    t.equal(conf.ipam?.kind, "host-local", `${name}: leases still released`);
    const dataDir = (conf.ipam as HostLocalIpamConf).dataDir;
    t.ok(dataDir === "/leases" || dataDir === "/var/lib/cni/networks", `${name}: lease directory ${dataDir}`);
    t.throws(() => parseNetConf(text, "kubenet"), `${name}: ADD/CHECK reject it`);
  }
  t.same(parseNetConf(JSON.stringify(base), "kubenet", { del: true }).ignored, [], "a valid DEL config ignores nothing");
  // What finds the pod's state must still parse.
  throwsCni(t, () => parseNetConf(JSON.stringify({ ...base, name: "a/b" }), "kubenet", { del: true }), 7, /network name "a\/b"/, "bad name");
  throwsCni(t, () => parseNetConf(JSON.stringify({ ...base, cniVersion: "7.0.0" }), "kubenet", { del: true }), 1, /"7.0.0"/, "bad version");
  throwsCni(t, () => parseNetConf("[]", "kubenet", { del: true }), 6, /must be a JSON object/, "not an object");
});

t.test("requested IPs, MAC, attachments, prevResult", async (t) => {
  const conf = parseNetConf(
    JSON.stringify({
      cniVersion: "1.1.0",
      name: "n",
      type: "kubenet",
      ipam: { subnet: "10.1.2.0/24" },
      args: { cni: { ips: ["10.1.2.9", "fd00::9/64"], mac: "02:00:00:00:00:01" } },
      runtimeConfig: { ips: ["::ffff:10.1.2.10"], mac: "02:00:00:00:00:AA" },
      "cni.dev/valid-attachments": [{ containerID: "a", ifname: "eth0" }],
      "cni.dev/attachments": [{ containerID: "b", ifname: "eth1" }],
      prevResult: { cniVersion: "0.3.1", ips: [{ version: "4", address: "10.1.2.9/24" }] },
      logFile: "/tmp/x.log",
      lockTimeoutMs: 500,
    }),
    "kubenet",
  );
  t.same(conf.requestedIps.map(formatIp), ["10.1.2.9", "fd00::9", "10.1.2.10"]);
  t.equal(conf.mac, "02:00:00:00:00:aa", "runtimeConfig.mac wins, lower-cased");
  t.same(conf.validAttachments, [
    { containerId: "a", ifName: "eth0" },
    { containerId: "b", ifName: "eth1" },
  ]);
  t.equal(conf.prevResult?.ips.length, 1);
  t.equal(conf.logFile, "/tmp/x.log");
  t.equal(conf.lockTimeoutMs, 500);
});

t.test("ipam.reclaimAfterReboot: on for kubenet, off for the drop-ins, a boolean", async (t) => {
  const ipam = { type: "host-local", subnet: "10.0.0.0/24" };
  const of = (type: string, invoked: PluginName, extra: Record<string, unknown> = {}) =>
    hostLocal(parseNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "n", type, ipam: { ...ipam, ...extra } }), invoked)).reclaimAfterReboot;
  t.equal(of("kubenet", "kubenet"), true, "kubenet type");
  t.equal(of("bridge", "kubenet"), false, "bridge type through kubenet");
  t.equal(of("bridge", "bridge"), false, "invoked as bridge");
  t.equal(of("host-local", "host-local"), false, "invoked as host-local");
  t.equal(of("kubenet", "host-local"), false, "invoked as host-local, whatever the type");
  t.equal(of("kubenet", "kubenet", { reclaimAfterReboot: false }), false, "kubenet turned off");
  t.equal(of("host-local", "host-local", { reclaimAfterReboot: true }), true, "drop-in turned on");
  throwsCni(t, () => of("kubenet", "kubenet", { reclaimAfterReboot: "yes" }), 6, /ipam\.reclaimAfterReboot must be true or false, got "yes"/);
  throwsCni(t, () => of("host-local", "host-local", { reclaimAfterReboot: 1 }), 6, /ipam\.reclaimAfterReboot must be true or false, got 1/);
});

t.test("agentSocket: peeked by the thin client, validated by the parser", async (t) => {
  const conf = (extra: Record<string, unknown>): string => JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "loopback", ...extra });
  t.equal(peekAgentSocket(conf({})), DEFAULT_AGENT_SOCKET);
  t.equal(peekAgentSocket(conf({ agentSocket: "/tmp/x/cni.sock" })), "/tmp/x/cni.sock");
  t.equal(peekAgentSocket(conf({ agentSocket: "off" })), undefined, "off: always in-process");
  t.equal(peekAgentSocket(conf({ agentSocket: "rel/cni.sock" })), undefined, "invalid: in-process, which reports it");
  t.equal(peekAgentSocket("not json"), undefined);
  t.equal(peekAgentSocket("[1]"), undefined);
  t.equal(peekAgentSocket(""), undefined);
  t.equal(agentSocketProblem(`/${"a".repeat(107)}`)?.includes("at most 107 bytes"), true);
  t.throws(() => parseNetConf(conf({ agentSocket: "cni.sock" }), "loopback"), { code: 7, message: /agentSocket "cni.sock" is not an absolute path/ });
  t.throws(() => parseNetConf(conf({ agentSocket: 3 }), "loopback"), { code: 6, message: /agentSocket must be a string/ });
  t.doesNotThrow(() => parseNetConf(conf({ agentSocket: "off" }), "loopback"));
  t.doesNotThrow(() => parseNetConf(conf({ agentSocket: "/run/kubenet/cni.sock" }), "loopback"));
});
