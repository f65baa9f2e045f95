// Strict parsing of the agent's config files and of the flags that end up in the conflist (issue 8, part 3):
// per field, the valid edges accepted and the invalid values refused with a message quoting them. A file that
// does not parse is never half-applied (the agent keeps the rules it has and reports the error: see
// test/agent/static-mode.test.ts).
import t, { type Test } from "tap";
import { parseCli } from "./cli.js";
import { parseMasqConfig } from "./masq/ip-masq-config.js";
import { parsePeersFile } from "./routes/peers.js";

const refuses = (t: Test, fn: () => unknown, re: RegExp, name: string): void => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof Error && re.test(err.message), name, { got: err instanceof Error ? err.message : String(err), wanted: String(re) });
};

t.test("ip-masq-agent config: every key, both sides", async (t) => {
  const ok: [string, string][] = [
    ["empty file: defaults", ""],
    ["empty list (masquerade everything)", "nonMasqueradeCIDRs: []\n"],
    ["block list", "nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - fd00::/8\n"],
    ["64 CIDRs (the limit)", `nonMasqueradeCIDRs: [${Array.from({ length: 64 }, (_, i) => `10.${i}.0.0/16`).join(", ")}]\n`],
    ["booleans", "masqLinkLocal: true\nmasqLinkLocalIPv6: false\n"],
    ["resyncInterval at 100ms", "resyncInterval: 100ms\n"],
    ["resyncInterval at the timer limit", "resyncInterval: 2147483647ms\n"],
    ["JSON", '{"nonMasqueradeCIDRs": ["10.0.0.0/8"], "masqLinkLocal": false, "resyncInterval": "60s"}'],
  ];
  for (const [name, text] of ok) {
    try {
      parseMasqConfig(text);
      t.pass(name);
    } catch (e) {
      t.fail(name, { got: e instanceof Error ? e.message : String(e) });
    }
  }
  const bad: [string, string, RegExp][] = [
    ["a key without a value (YAML null, not [])", "nonMasqueradeCIDRs:\nmasqLinkLocal: true\n", /Line 1: key "nonMasqueradeCIDRs" has no value/],
    ["a key without a value at the end", "masqLinkLocal: true\nnonMasqueradeCIDRs:\n", /Line 2: key "nonMasqueradeCIDRs" has no value/],
    ["quoted CIDR with a space", "nonMasqueradeCIDRs: [' 10.0.0.0/8']\n", /Invalid CIDR " 10.0.0.0\/8"/],
    ["JSON CIDR with a newline", '{"nonMasqueradeCIDRs": ["10.0.0.0/8\\n"]}', /Invalid CIDR "10.0.0.0\/8\\n"/],
    ["empty CIDR", "nonMasqueradeCIDRs: ['']\n", /Invalid CIDR ""/],
    ["host bits", "nonMasqueradeCIDRs: [10.0.0.1/8]\n", /not aligned.*"10.0.0.0\/8"/],
    ["65 CIDRs", `nonMasqueradeCIDRs: [${Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16`).join(", ")}]\n`, /Too many nonMasqueradeCIDRs: 65/],
    ["a CIDR list as a string", "nonMasqueradeCIDRs: 10.0.0.0/8\n", /Invalid nonMasqueradeCIDRs "10.0.0.0\/8"/],
    ["boolean as yes", "masqLinkLocal: yes\n", /Invalid masqLinkLocal "yes"/],
    ["quoted boolean", "masqLinkLocal: 'true'\n", /Invalid masqLinkLocal "true"/],
    ["JSON boolean as string", '{"masqLinkLocalIPv6": "false"}', /Invalid masqLinkLocalIPv6 "false"/],
    ["resyncInterval empty", "resyncInterval: ''\n", /Invalid resyncInterval ""/],
    ["resyncInterval without unit", "resyncInterval: 60\n", /Invalid resyncInterval "60"/],
    ["resyncInterval under 100ms", "resyncInterval: 99ms\n", /at least 100ms/],
    ["resyncInterval past the timer limit (would fire every 1 ms)", "resyncInterval: 2147483648ms\n", /Invalid resyncInterval "2147483648ms": must be at most 2147483647ms/],
    ["resyncInterval 1000h", "resyncInterval: 1000h\n", /at most/],
    ["resyncInterval a JSON number", '{"resyncInterval": 60}', /Invalid resyncInterval 60/],
    ["unknown key (a typo)", "nonMasqueradeCIDR: [10.0.0.0/8]\n", /Unknown key "nonMasqueradeCIDR"/],
    ["duplicate key", "masqLinkLocal: true\nmasqLinkLocal: false\n", /duplicate key "masqLinkLocal"/],
    ["JSON null", '{"nonMasqueradeCIDRs": null}', /Invalid nonMasqueradeCIDRs null/],
  ];
  for (const [name, text, re] of bad) refuses(t, () => parseMasqConfig(text), re, name);
});

t.test("peers file: every key, both sides", async (t) => {
  const file = (nodes: unknown, extra: Record<string, unknown> = {}): string => JSON.stringify({ nodes, ...extra });
  const ok: [string, string][] = [
    ["no nodes", file([])],
    ["a node", file([{ name: "w2", podCIDRs: ["172.20.2.0/24"], internalIPs: ["10.0.1.167"] }])],
    ["a dotted name of 253 characters", file([{ name: `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}` }])],
    ["a node without a PodCIDR yet", file([{ name: "w3", internalIPs: ["10.0.1.168"] }])],
  ];
  for (const [name, text] of ok) {
    try {
      parsePeersFile(text, "/p.json");
      t.pass(name);
    } catch (e) {
      t.fail(name, { got: e instanceof Error ? e.message : String(e) });
    }
  }
  const bad: [string, string, RegExp][] = [
    ["a misspelt entry key", file([{ name: "w2", podCIDR: ["172.20.2.0/24"] }]), /Unknown key "podCIDR" in entry 0/],
    ["a misspelt top-level key", file([], { node: [] }), /Unknown key "node" in peers file/],
    ["an empty name", file([{ name: "" }]), /Invalid entry 0/],
    ["a name with a newline", file([{ name: "w2\n" }]), /Invalid node name "w2\\n"/],
    ["a name with a space", file([{ name: " w2" }]), /Invalid node name " w2"/],
    ["an upper-case name", file([{ name: "W2" }]), /Invalid node name "W2"/],
    ["a 254-character name", file([{ name: "a".repeat(254) }]), /Invalid node name/],
    ["a name twice", file([{ name: "w2" }, { name: "w2" }]), /listed twice/],
    ["podCIDRs not a list", file([{ name: "w2", podCIDRs: "172.20.2.0/24" }]), /Invalid entry 0/],
    ["not JSON", "{", /Cannot parse the peers file "\/p.json"/],
  ];
  for (const [name, text, re] of bad) refuses(t, () => parsePeersFile(text, "/p.json"), re, name);
  // A value of a well-formed entry that does not parse is the node's problem (reported by the planner), never
  // trimmed into a route.
  const [peer] = parsePeersFile(file([{ name: "w2", podCIDRs: ["172.20.2.0/24 "], internalIPs: ["10.0.1.167\n"] }]), "/p.json");
  t.match(peer?.problem, /"172.20.2.0\/24 ".*; invalid InternalIP "10.0.1.167\\n"/, "bad values make a peer with a problem, quoted");
});

t.test("flags written into the conflist or timers: both sides", async (t) => {
  const env = { nodeName: undefined, hostname: "node-a" };
  const run = (...flags: string[]) => parseCli(["run", "--static-pod-cidr", "10.1.0.0/24", ...flags], env);
  for (const flags of [["--ipam-data-dir", "/var/lib/cni/networks"], ["--cni-conf-dir", "/etc/cni/net.d"], ["--resync-interval", "100ms"], ["--resync-interval", "2147483647ms"], ["--gc-interval", "0"], ["--gc-interval", "596h"]]) {
    try {
      run(...flags);
      t.pass(flags.join(" "));
    } catch (e) {
      t.fail(flags.join(" "), { got: e instanceof Error ? e.message : String(e) });
    }
  }
  const bad: [string[], RegExp][] = [
    [["--ipam-data-dir", ""], /Invalid --ipam-data-dir "": is empty/],
    [["--ipam-data-dir", "networks"], /Invalid --ipam-data-dir "networks": is not an absolute path/],
    [["--ipam-data-dir", "/var/lib/cni/networks "], /whitespace/],
    [["--cni-conf-dir", ""], /Invalid --cni-conf-dir "": is empty/],
    [["--cni-conf-dir", "/etc/cni/net.d\n"], /Invalid --cni-conf-dir "\/etc\/cni\/net.d\\n"/],
    [["--bridge", ""], /Invalid --bridge ""/],
    [["--resync-interval", "99ms"], /at least 100ms/],
    [["--resync-interval", "2147483648ms"], /at most 2147483647ms/],
    [["--healthz-max-age", "1000h"], /Invalid --healthz-max-age "1000h": must be at most/],
    [["--gc-interval", "597h"], /Invalid --gc-interval "597h": must be at most/],
    [["--gc-interval", "500ms"], /at least 1s/],
  ];
  for (const [flags, re] of bad) refuses(t, () => run(...flags), re, flags.join(" "));
});
