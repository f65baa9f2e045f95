import t from "tap";
import { formatCidr } from "../../core/ip.js";
import { parseDuration } from "../../core/duration.js";
import { DEFAULT_MASQ_CONFIG, MasqConfigError, parseMasqConfig } from "./ip-masq-config.js";
import { parseYamlSubset, YamlSubsetError } from "./yaml-subset.js";

const cidrs = (text: string): string[] | undefined => parseMasqConfig(text).nonMasqueradeCidrs?.map(formatCidr);

t.test("parseMasqConfig: ip-masq-agent's README example (YAML block list)", async (t) => {
  const cfg = parseMasqConfig(`# ConfigMap key "config"
nonMasqueradeCIDRs:
  - 10.0.0.0/8   # cluster
  - 172.16.0.0/12
masqLinkLocal: true
resyncInterval: 60s
`);
  t.same(cfg.nonMasqueradeCidrs?.map(formatCidr), ["10.0.0.0/8", "172.16.0.0/12"]);
  t.equal(cfg.masqLinkLocal, true);
  t.equal(cfg.masqLinkLocalIpv6, false);
  t.equal(cfg.resyncIntervalMs, 60_000);
});

t.test("parseMasqConfig: the same config as JSON, flow lists, quotes, items at column 0, ---", async (t) => {
  t.same(cidrs('{"nonMasqueradeCIDRs": ["10.0.0.0/8", "fd00::/8"], "masqLinkLocalIPv6": true}'), ["10.0.0.0/8", "fd00::/8"]);
  t.same(cidrs("nonMasqueradeCIDRs: [10.0.0.0/8, '192.168.0.0/16', \"100.64.0.0/10\"]"), ["10.0.0.0/8", "192.168.0.0/16", "100.64.0.0/10"]);
  t.same(cidrs("---\nnonMasqueradeCIDRs:\n- 10.0.0.0/8\n- 172.16.0.0/12\n"), ["10.0.0.0/8", "172.16.0.0/12"]);
  t.same(cidrs("nonMasqueradeCIDRs: []\n"), [], "an empty list masquerades everything but link-local");
  t.equal(parseMasqConfig("resyncInterval: '1m30s'").resyncIntervalMs, 90_000);
});

t.test("parseMasqConfig: empty file and comments only => defaults", async (t) => {
  t.same(parseMasqConfig(""), DEFAULT_MASQ_CONFIG);
  t.same(parseMasqConfig("# nothing here\n\n"), DEFAULT_MASQ_CONFIG);
  t.same(parseMasqConfig("{}"), DEFAULT_MASQ_CONFIG);
});

t.test("parseMasqConfig: rejects bad input with the offending value quoted", async (t) => {
  const bad: [string, RegExp][] = [
    ["nonMasqueradeCIDRs: [10.0.0.1/8]", /not aligned to a CIDR block: did you mean "10.0.0.0\/8"/],
    ["nonMasqueradeCIDRs: [10.0.0.0]", /Invalid CIDR "10.0.0.0"/],
    ["nonMasqueradeCIDRs: 10.0.0.0/8", /expected a list of CIDRs/],
    ["masqLinkLocal: yes", /Invalid masqLinkLocal "yes": expected true or false/],
    ['masqLinkLocal: "true"', /Invalid masqLinkLocal "true"/],
    ["resyncInterval: 60", /Invalid resyncInterval "60"/],
    ["resyncInterval: 1ms", /at least 100ms/],
    ["nonMasqueradeCidrs: [10.0.0.0/8]", /Unknown key "nonMasqueradeCidrs"/],
    ['{"masqLinkLocal": 1}', /Invalid masqLinkLocal 1/],
    ["{not json", /as JSON/],
    ["nonMasqueradeCIDRs:\n  - a: b", /nested lists and mappings/],
    ["nested:\n  key: value", /unexpected indented content/],
    ["masqLinkLocal: true\nmasqLinkLocal: false", /duplicate key "masqLinkLocal"/],
    ["masqLinkLocal: &a true", /not supported/],
    ["\tmasqLinkLocal: true", /tabs/],
  ];
  for (const [text, re] of bad) t.throws(() => parseMasqConfig(text), { name: "MasqConfigError", message: re }, JSON.stringify(text));
  const tooMany = `nonMasqueradeCIDRs:\n${Array.from({ length: 65 }, (_, i) => `  - 10.${i}.0.0/16`).join("\n")}\n`;
  t.throws(() => parseMasqConfig(tooMany), /at most 64/);
  t.ok(new MasqConfigError("x") instanceof Error);
});

t.test("parseYamlSubset: keeps scalar source form and line numbers in errors", async (t) => {
  const doc = parseYamlSubset("a: 'it''s'\nb: \"q\\\"x\"\nc: plain # comment\nd: 'has # hash'\n");
  t.same(doc.get("a"), { text: "it's", quoted: true });
  t.same(doc.get("b"), { text: 'q"x', quoted: true });
  t.same(doc.get("c"), { text: "plain", quoted: false });
  t.same(doc.get("d"), { text: "has # hash", quoted: true });
  t.throws(() => parseYamlSubset("a: 1\n  - x\n"), YamlSubsetError);
  t.throws(() => parseYamlSubset("a: [1, 2\n"), { message: /Line 1: unterminated flow list/ });
  t.throws(() => parseYamlSubset("a:\n  - x\n   - y\n"), { message: /Line 3: list items must share one indentation/ });
});

t.test("parseDuration: Go duration grammar", async (t) => {
  t.equal(parseDuration("60s"), 60_000);
  t.equal(parseDuration("1m30s"), 90_000);
  t.equal(parseDuration("500ms"), 500);
  t.equal(parseDuration("1.5h"), 5_400_000);
  t.equal(parseDuration("0"), 0);
  for (const bad of ["", "60", "s", "-1s", "1x", "1s ", " 1s"]) t.throws(() => parseDuration(bad), SyntaxError, bad);
});
