// Golden tests of the host-port layout against Debian's /usr/lib/cni/portmap (v1.1.1): the lines below are
// its iptables-save output (iptables v1.8.9 nft) after an ADD of network "mynet", container "ctr1", pod
// 10.88.0.5/16 with tcp 8080->80, udp 8081->81, tcp 127.0.0.1:9090->90 and tcp [fd00::1]:9091->91.
import t from "tap";
import { createHash } from "node:crypto";
import { parsePortMapOptions, parsePortMappings } from "../../core/cni/portmap-conf.js";
import { parseCidr } from "../../core/ip-parse.js";
import { emptyTable, formatRule, parseIptablesSave } from "../../native/index.js";
import {
  dnChainFromDigest, dnatComment, markOf, missingPortRules, parseDnatComment, podEntryRules, podPortRules, renderFastPortSetup, renderFastPortTeardown,
  renderPortSetup, stalePortChains,
} from "./rules.js";

const chainOf = (net: string, id: string): string => dnChainFromDigest(createHash("sha512").update(net + id).digest("hex"));
const CHAIN = "CNI-DN-5145007e2a8415ce07579";
const REF_V4 = String.raw`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-DN-5145007e2a8415ce07579 - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-HOSTPORT-MASQ - [0:0]
:CNI-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A CNI-DN-5145007e2a8415ce07579 -s 10.88.0.0/16 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-5145007e2a8415ce07579 -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-5145007e2a8415ce07579 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.5:80
-A CNI-DN-5145007e2a8415ce07579 -s 10.88.0.0/16 -p udp -m udp --dport 8081 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-5145007e2a8415ce07579 -s 127.0.0.1/32 -p udp -m udp --dport 8081 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-5145007e2a8415ce07579 -p udp -m udp --dport 8081 -j DNAT --to-destination 10.88.0.5:81
-A CNI-DN-5145007e2a8415ce07579 -s 10.88.0.0/16 -d 127.0.0.1/32 -p tcp -m tcp --dport 9090 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-5145007e2a8415ce07579 -s 127.0.0.1/32 -d 127.0.0.1/32 -p tcp -m tcp --dport 9090 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-5145007e2a8415ce07579 -d 127.0.0.1/32 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 10.88.0.5:90
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"mynet\" id: \"ctr1\"" -m multiport --dports 8080,9090,9091 -j CNI-DN-5145007e2a8415ce07579
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \"mynet\" id: \"ctr1\"" -m multiport --dports 8081 -j CNI-DN-5145007e2a8415ce07579
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
COMMIT
`;
const MAPPINGS = parsePortMappings({
  portMappings: [
    { hostPort: 8080, containerPort: 80, protocol: "tcp" },
    { hostPort: 8081, containerPort: 81, protocol: "udp" },
    { hostPort: 9090, containerPort: 90, protocol: "tcp", hostIP: "127.0.0.1" },
    { hostPort: 9091, containerPort: 91, protocol: "tcp", hostIP: "fd00::1" },
  ],
});
const spec = (podAddr: string, raw: Record<string, unknown> = {}) => ({
  chain: CHAIN, comment: dnatComment("mynet", "ctr1"), mappings: MAPPINGS, options: parsePortMapOptions(raw), podAddr: parseCidr(podAddr),
});
const lines = (payload: string): string[] => payload.split("\n").filter((l) => /^-[AI] /.test(l));

t.test("names, comment, mark: as the reference computes them", async (t) => {
  t.equal(chainOf("mynet", "ctr1"), CHAIN);
  t.equal(dnatComment("mynet", "ctr1"), 'dnat name: "mynet" id: "ctr1"');
  t.same(parseDnatComment('dnat name: "mynet" id: "ctr1"'), { network: "mynet", containerId: "ctr1" });
  t.equal(parseDnatComment('name: "mynet" id: "ctr1"'), undefined);
  t.equal(dnatComment("n", "x".repeat(300)).length, 256);
  t.equal(markOf(13), "0x2000/0x2000");
  t.equal(markOf(0), "0x1/0x1");
});

t.test("setup on an empty table: every rule line is byte-identical to the reference's iptables-save line", async (t) => {
  const payload = renderPortSetup(emptyTable("nat"), podPortRules(spec("10.88.0.5/16")));
  const ref = REF_V4.split("\n").filter((l) => l.startsWith("-A "));
  const mine = lines(payload).map((l) => l.replace(/^-I POSTROUTING 1 /, "-A POSTROUTING "));
  t.same([...mine].sort(), [...ref].sort());
  t.match(payload, /-N CNI-HOSTPORT-SETMARK\n/, "shared chains by -N (a concurrent creator makes the restore fail, never flushes)");
  t.match(payload, `:${CHAIN} - [0:0]`);
});

t.test("setup over the reference's own state writes only the pod chain again; CHECK finds nothing missing", async (t) => {
  const table = parseIptablesSave(REF_V4, "nat");
  const rules = podPortRules(spec("10.88.0.5/16"));
  const payload = renderPortSetup(table, rules);
  t.notMatch(payload, /-N |POSTROUTING|PREROUTING|-A CNI-HOSTPORT-DNAT|-D /, "shared chains and existing jumps untouched");
  t.same(missingPortRules(table, rules), []);
  const broken = parseIptablesSave(REF_V4.replace(/^-A CNI-DN-.*9090 -j DNAT.*\n/m, ""), "nat");
  t.match(missingPortRules(broken, rules), [/--dport 9090 -j DNAT/]);
});

t.test("IPv6: no localhost rule, only mappings of the family, [addr]:port", async (t) => {
  const r = podPortRules(spec("fd00:88::5/64"));
  t.same(r.chainRules.map((a) => formatRule("-A", CHAIN, a)), [
    `-A ${CHAIN} -s fd00:88::/64 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
    `-A ${CHAIN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:88::5]:80`,
    `-A ${CHAIN} -s fd00:88::/64 -p udp -m udp --dport 8081 -j CNI-HOSTPORT-SETMARK`,
    `-A ${CHAIN} -p udp -m udp --dport 8081 -j DNAT --to-destination [fd00:88::5]:81`,
    `-A ${CHAIN} -s fd00:88::/64 -d fd00::1/128 -p tcp -m tcp --dport 9091 -j CNI-HOSTPORT-SETMARK`,
    `-A ${CHAIN} -d fd00::1/128 -p tcp -m tcp --dport 9091 -j DNAT --to-destination [fd00:88::5]:91`,
  ]);
});

t.test("keys: snat off, masqAll, external mark chain, conditions", async (t) => {
  const noSnat = podPortRules(spec("10.88.0.5/16", { snat: false }));
  t.equal(noSnat.markBit, undefined);
  t.ok(noSnat.chainRules.every((a) => a.includes("DNAT")));
  const all = podPortRules(spec("10.88.0.5/16", { masqAll: true }));
  t.same(all.chainRules[0], ["-p", "tcp", "-m", "tcp", "--dport", "8080", "-j", "CNI-HOSTPORT-SETMARK"], "0.0.0.0/0 is left out, no localhost rule");
  const ext = podPortRules(spec("10.88.0.5/16", { externalSetMarkChain: "KUBE-MARK-MASQ" }));
  t.equal(ext.markBit, undefined);
  t.equal(ext.chainRules[0]?.at(-1), "KUBE-MARK-MASQ");
  t.notMatch(renderPortSetup(emptyTable("nat"), ext), /SETMARK|HOSTPORT-MASQ/);
  const cond = podPortRules(spec("10.88.0.5/16", { conditionsV4: ["!", "-d", "10.0.0.1"] }));
  t.same(cond.entryRules[0]?.slice(-5), ["!", "-d", "10.0.0.1", "-j", CHAIN]);
  t.equal(podPortRules(spec("10.88.0.5/16", { markMasqBit: 5 })).markBit, 5);
  t.throws(() => parsePortMapOptions({ markMasqBit: 5, externalSetMarkChain: "X" }), { code: 7 });
  t.throws(() => parsePortMapOptions({ markMasqBit: 32 }), { code: 7 });
  t.throws(() => parsePortMapOptions({ backend: "nftables" }), { code: 2 });
  t.throws(() => parsePortMapOptions({ conditionsV4: ["ip daddr 1.2.3.4"] }), { code: 2 });
  t.throws(() => parsePortMappings({ portMappings: [{ hostPort: 0, containerPort: 80 }] }), { code: 7 });
  t.throws(() => parsePortMappings({ portMappings: [{ hostPort: 80, containerPort: 80, protocol: "icmp" }] }), { code: 7 });
  t.throws(() => parsePortMappings({ portMappings: [{ hostPort: 80, containerPort: 80, hostIP: "nope" }] }), { code: 7 });
  t.throws(() => parsePortMappings({ portMappings: "80:80" }), { code: 6 });
  t.equal(parsePortMappings({ portMappings: [{ hostPort: 80, containerPort: 8, protocol: "UDP" }] })[0]?.protocol, "udp");
});

t.test("more than 15 ports of one protocol: several multiport entry rules", async (t) => {
  const many = parsePortMappings({ portMappings: Array.from({ length: 17 }, (_, i) => ({ hostPort: 1000 + i, containerPort: 80 })) });
  const r = podPortRules({ ...spec("10.88.0.5/16"), mappings: many });
  t.equal(r.entryRules.length, 2);
  t.equal(r.entryRules[1]?.[r.entryRules[1].indexOf("--dports") + 1], "1015,1016");
});

t.test("stalePortChains: by comment and chain name, only this network, only invalid containers", async (t) => {
  const table = parseIptablesSave(REF_V4, "nat");
  t.same(stalePortChains(table, "mynet", new Set(), chainOf), [CHAIN]);
  t.same(stalePortChains(table, "mynet", new Set(["ctr1"]), chainOf), []);
  t.same(stalePortChains(table, "other", new Set(), chainOf), []);
});

t.test("the one-transaction ADD: checks every shared rule the reference state holds, creates and fills only the pod's chain", async (t) => {
  const rules = podPortRules(spec("10.88.0.5/16"));
  const payload = renderFastPortSetup(rules);
  const ref = REF_V4.split("\n").filter((l) => l.startsWith("-A "));
  const checks = payload.split("\n").filter((l) => l.startsWith("-C ")).map((l) => l.replace(/^-C /, "-A "));
  t.same(checks.sort(), ref.filter((l) => !l.includes(CHAIN)).sort(), "-C of exactly the shared rules and jumps");
  const writes = payload.split("\n").filter((l) => l.startsWith("-A "));
  t.same(writes.sort(), ref.filter((l) => l.includes(CHAIN)).sort(), "-A of exactly the pod's rules and entry jumps");
  t.match(payload, `\n-N ${CHAIN}\n`, "the pod's chain by -N: a repeated ADD fails this and reads the table");
  t.notMatch(payload, /^:/m, "never a chain declaration (that would flush an existing chain)");
  const ext = renderFastPortSetup(podPortRules(spec("10.88.0.5/16", { externalSetMarkChain: "KUBE-MARK-MASQ" })));
  t.notMatch(ext, /CNI-HOSTPORT-(SETMARK|MASQ)/, "an external mark chain: our mark chains are not required");
});

t.test("the one-transaction DEL: deletes the entry jumps by their exact text, flushes and removes the chain", async (t) => {
  const s = spec("10.88.0.5/16");
  const payload = renderFastPortTeardown({ chain: CHAIN, entryRules: podEntryRules(s, 4) });
  const refJumps = REF_V4.split("\n").filter((l) => l.startsWith("-A CNI-HOSTPORT-DNAT ")).map((l) => l.replace(/^-A /, "-D "));
  t.same(payload.split("\n"), ["*nat", ...refJumps, `-F ${CHAIN}`, `-X ${CHAIN}`, "COMMIT", ""]);
  t.same(podEntryRules(s, 4), podPortRules(s).entryRules, "the entry rules need no pod address");
});
