import t from "tap";
import { formatCidr } from "../core/ip.js";
import { parseCli } from "./cli.js";
import { parseListen, UsageError } from "./flag-values.js";
import { DEFAULTS } from "./config.js";
import { createLogger, describeError } from "./log.js";
import { Metrics } from "./metrics.js";
import { parsePodCidrFile } from "./sources/static.js";

const env = { nodeName: undefined, hostname: "node-a" };

t.test("parseCli: static mode with every flag", async (t) => {
  const cmd = parseCli(
    [
      "run", "--static-pod-cidr", "10.244.1.0/24,fd00:1::/64", "--cluster-cidr=10.244.0.0/16,fd00::/48", "--cni-conf-dir", "/tmp/c",
      "--cni-conf-name", "01-x.conflist", "--cni-version", "1.1.0", "--ipam-data-dir", "/tmp/i", "--bridge", "br0", "--mtu", "9000",
      "--masq-config", "/tmp/m", "--masq-chain", "MY-MASQ", "--iptables-mode", "legacy", "--random-fully", "off", "--iptables-wait", "7",
      "--resync-interval", "1s", "--listen", "[::1]:0", "--healthz-max-age", "10s", "--log-level", "debug", "--once",
      "--cni-socket", "/tmp/s/cni.sock", "--cni-workers", "4",
      "--cri-endpoint", "unix:///x.sock", "--gc-interval", "0", "--gc-plugin", "/p/kubenet",
    ],
    env,
  );
  if (cmd.kind !== "run") throw new Error("expected run");
  t.equal(cmd.once, true);
  const c = cmd.config;
  t.same(c.source.kind === "static" ? c.source.podCidrs.map(formatCidr) : c.source, ["10.244.1.0/24", "fd00:1::/64"]);
  t.same(c.clusterCidrs.map(formatCidr), ["10.244.0.0/16", "fd00::/48"]);
  t.same(
    { ...c, source: undefined, clusterCidrs: undefined },
    {
      source: undefined, clusterCidrs: undefined, cniConfDir: "/tmp/c", cniConfName: "01-x.conflist", cniVersion: "1.1.0", ipamDataDir: "/tmp/i",
      bridgeName: "br0", mtu: 9000, masqConfigPath: "/tmp/m", masqChain: "MY-MASQ", iptablesMode: "legacy", randomFully: "off",
      lockWaitSeconds: 7, resyncIntervalMs: 1000, listen: { host: "::1", port: 0 }, healthzMaxAgeMs: 10_000, logLevel: "debug",
      forwardAccept: "on", routes: "off", nodeName: "node-a", bandwidth: "on", portMappings: "on",
      cniSocket: "/tmp/s/cni.sock", cniWorkers: 4,
      criEndpoint: "unix:///x.sock", gcIntervalMs: 0, gcPlugin: "/p/kubenet",
    },
  );
});

t.test("parseCli: --port-mappings off turns the capability off; anything else is refused", async (t) => {
  const off = parseCli(["run", "--static-pod-cidr", "10.1.0.0/24", "--port-mappings", "off"], env);
  t.equal(off.kind === "run" && off.config.portMappings, "off");
  t.throws(() => parseCli(["run", "--static-pod-cidr", "10.1.0.0/24", "--port-mappings", "1"], env), /Invalid --port-mappings "1": expected on, off/);
});

t.test("parseCli: --bandwidth off turns the capability off; anything else is refused", async (t) => {
  const off = parseCli(["run", "--static-pod-cidr", "10.1.0.0/24", "--bandwidth", "off"], env);
  t.equal(off.kind === "run" && off.config.bandwidth, "off");
  t.throws(() => parseCli(["run", "--static-pod-cidr", "10.1.0.0/24", "--bandwidth", "yes"], env), /Invalid --bandwidth "yes": expected on, off/);
});

t.test("parseCli: Kubernetes mode defaults; node name from flag, NODE_NAME, hostname", async (t) => {
  const k = parseCli(["run", "--kubeconfig", "/k"], env);
  t.same(k.kind === "run" && k.config.source, { kind: "kubernetes", kubeconfig: "/k", nodeName: "node-a" });
  const inCluster = parseCli(["run"], { nodeName: "node-b", hostname: "h" });
  t.same(inCluster.kind === "run" && inCluster.config.source, { kind: "kubernetes", kubeconfig: undefined, nodeName: "node-b" });
  const flag = parseCli(["run", "--node-name", "node-c"], { nodeName: "node-b", hostname: "h" });
  t.same(flag.kind === "run" && flag.config.source, { kind: "kubernetes", kubeconfig: undefined, nodeName: "node-c" });
  if (k.kind !== "run") throw new Error("expected run");
  t.equal(k.config.resyncIntervalMs, DEFAULTS.resyncIntervalMs);
  t.same(k.config.listen, { host: "127.0.0.1", port: 9970 });
  t.equal(k.config.masqConfigPath, "/etc/config/ip-masq-agent");
  t.equal(k.config.cniConfName, "05-kubenet.conflist");
  t.same(parseCli(["run", "--pod-cidr-file", "/f", "--masq-config", ""], env), parseCli(["run", "--pod-cidr-file=/f", "--masq-config="], env));
  const r = parseCli(["run", "--pod-cidr-file", "/f", "--masq-config", ""], env);
  t.equal(r.kind === "run" && r.config.masqConfigPath, undefined);
  t.same(parseCli(["cleanup", "--cni-conf-dir", "/x"], env).kind, "cleanup");
  const run = parseCli(["run"], env);
  t.same(run.kind === "run" && [run.config.cniSocket, run.config.cniWorkers], ["/run/kubenet/cni.sock", 16], "the CNI service is on by default");
  t.equal(run.kind === "run" && parseCli(["run", "--cni-socket", "off"], env).kind === "run" ? (parseCli(["run", "--cni-socket", "off"], env) as { config: { cniSocket: unknown } }).config.cniSocket : "x", undefined);
  const serve = parseCli(["serve", "--cni-socket", "/tmp/x.sock"], env);
  t.same(serve.kind === "serve" && serve.config.cniSocket, "/tmp/x.sock");
  t.same(parseCli([], env), { kind: "help" });
  t.same(parseCli(["run", "--help"], env), { kind: "help" });
});

t.test("parseCli: usage errors quote the flag and the value", async (t) => {
  const bad: [string[], RegExp][] = [
    [["serv"], /Unknown command "serv"/],
    [["serve", "--cni-socket", "off"], /serve needs a CNI socket/],
    [["run", "--cni-socket", "cni.sock"], /Invalid --cni-socket "cni.sock": agentSocket "cni.sock" is not an absolute path/],
    [["run", "--cni-workers", "0"], /Invalid --cni-workers "0"/],
    [["run", "--bogus"], /Unknown flag --bogus/],
    [["run", "--static-pod-cidr"], /--static-pod-cidr needs a value/],
    [["run", "--static-pod-cidr", "10.0.0.1/24"], /host bits set: did you mean "10.0.0.0\/24"/],
    [["run", "--static-pod-cidr", "10.0.0.0/24", "--kubeconfig", "/k"], /Choose one PodCIDR source/],
    [["run", "--mtu", "70000", "--static-pod-cidr", "10.0.0.0/24"], /Invalid --mtu "70000"/],
    [["run", "--resync-interval", "5", "--static-pod-cidr", "10.0.0.0/24"], /Invalid --resync-interval "5"/],
    [["run", "--iptables-mode", "nftables"], /Invalid --iptables-mode "nftables": expected auto, legacy, nft, plain/],
    [["run", "--listen", "localhost"], /Invalid --listen "localhost"/],
    [["run", "--cluster-cidr", "10.0.0.0"], /Invalid --cluster-cidr "10.0.0.0": not a CIDR/],
    [["run", "--node-name", "Bad_Name"], /Invalid node name "Bad_Name"/],
    [["run", "--once", "--once"], /given twice/],
    [["run", "--once=yes"], /takes no value/],
    [["cleanup", "--once"], /--once only applies to run/],
    [["run", "--cni-conf-name", "a/b.conflist"], /Invalid --cni-conf-name/],
    [["run", "--masq-chain", "WAY-TOO-LONG-CHAIN-NAME-FOR-IPTABLES"], /Invalid --masq-chain/],
  ];
  for (const [argv, re] of bad) t.throws(() => parseCli(argv, env), { name: "UsageError", message: re }, argv.join(" "));
  t.ok(new UsageError("x") instanceof Error);
  t.equal(parseListen("off"), undefined);
  t.same(parseListen(":8080"), { host: "127.0.0.1", port: 8080 });
  t.same(parseListen("0.0.0.0:1"), { host: "0.0.0.0", port: 1 });
});

t.test("parseCli: --config file gives flags (PodCIDR and cluster CIDR for the static mode); the command line wins", async (t) => {
  const files: Record<string, string> = {
    "/c.json": JSON.stringify({ "static-pod-cidr": "10.244.1.0/24", "cluster-cidr": ["10.244.0.0/16", "fd00::/48"], "resync-interval": "5s", once: true, mtu: 1400 }),
    "/bad.json": JSON.stringify({ "no-such-flag": 1 }),
  };
  const withFiles = { ...env, readFile: (p: string): string => {
    const f = files[p];
    if (f === undefined) throw new Error("ENOENT");
    return f;
  } };
  const cmd = parseCli(["run", "--config", "/c.json", "--resync-interval", "1s"], withFiles);
  if (cmd.kind !== "run") throw new Error("expected run");
  t.equal(cmd.once, true);
  t.same(cmd.config.source.kind === "static" && cmd.config.source.podCidrs.map(formatCidr), ["10.244.1.0/24"]);
  t.same(cmd.config.clusterCidrs.map(formatCidr), ["10.244.0.0/16", "fd00::/48"]);
  t.equal(cmd.config.resyncIntervalMs, 1000, "flag wins over the file");
  t.equal(cmd.config.mtu, 1400);
  t.throws(() => parseCli(["run", "--config", "/bad.json"], withFiles), /Invalid key "no-such-flag"/);
  t.throws(() => parseCli(["run", "--config", "/missing.json"], withFiles), /Cannot read --config "\/missing.json": ENOENT/);
  t.throws(() => parseCli(["run", "--config", "/c.json"], env), /--config is not available/);
});

t.test("parsePodCidrFile: JSON, text, empty", async (t) => {
  t.same(parsePodCidrFile('{"podCIDRs":["10.1.0.0/24","fd00::/64"]}', "f")?.map(formatCidr), ["10.1.0.0/24", "fd00::/64"]);
  t.same(parsePodCidrFile("# comment\n10.1.0.0/24\n", "f")?.map(formatCidr), ["10.1.0.0/24"]);
  t.equal(parsePodCidrFile("  \n", "f"), undefined);
  t.throws(() => parsePodCidrFile('{"podCIDRs": "x"}', "f"), /expected \{"podCIDRs"/);
  t.throws(() => parsePodCidrFile("10.1.0.1/24", "/etc/p"), /Invalid PodCIDR file "\/etc\/p": PodCIDR "10.1.0.1\/24" has host bits/);
});

t.test("createLogger: JSON lines with error cause chains; level filter", async (t) => {
  const lines: string[] = [];
  const log = createLogger((l) => lines.push(l), "info", () => new Date(0));
  log.debug("hidden");
  log.error("Step masq failed", { error: new Error("IPv4 masquerade rules", { cause: Object.assign(new Error("exited with 4"), { code: "EX" }) }), n: 1n });
  t.equal(lines.length, 1);
  t.same(JSON.parse(lines[0] ?? ""), { time: "1970-01-01T00:00:00.000Z", level: "error", msg: "Step masq failed", error: "IPv4 masquerade rules: exited with 4 (EX)", n: "1" });
  t.equal(describeError("plain"), "plain");
});

t.test("Metrics.render: Prometheus text format", async (t) => {
  const m = new Metrics();
  m.declare("a_total", "counter", "A help.", { x: "1" });
  m.inc("a_total", "A help.", { x: "2" }, 3);
  m.set("b", "B \\ help\nline", 1.5, { cidr: 'we"ird' });
  m.observe("d_seconds", "D.", 0.02, [0.01, 0.1]);
  m.observe("d_seconds", "D.", 5, [0.01, 0.1]);
  t.equal(
    m.render(),
    [
      "# HELP a_total A help.", "# TYPE a_total counter", 'a_total{x="1"} 0', 'a_total{x="2"} 3',
      "# HELP b B \\\\ help\\nline", "# TYPE b gauge", 'b{cidr="we\\"ird"} 1.5',
      "# HELP d_seconds D.", "# TYPE d_seconds histogram", 'd_seconds_bucket{le="0.01"} 0', 'd_seconds_bucket{le="0.1"} 1', 'd_seconds_bucket{le="+Inf"} 2',
      "d_seconds_sum 5.02", "d_seconds_count 2", "",
    ].join("\n"),
  );
  t.equal(m.total("a_total"), 3);
});

t.test("parseCli: --routes host-gw, --peers-file, --forward-accept", async (t) => {
  const k = parseCli(["run", "--kubeconfig", "/k", "--routes", "host-gw", "--forward-accept", "off"], env);
  t.same(k.kind === "run" && [k.config.routes, k.config.peersFile, k.config.nodeName, k.config.forwardAccept], ["host-gw", undefined, "node-a", "off"]);
  const s = parseCli(["run", "--static-pod-cidr", "10.1.0.0/24", "--routes=host-gw", "--peers-file", "/p.json", "--node-name", "w1"], env);
  t.same(s.kind === "run" && [s.config.routes, s.config.peersFile, s.config.nodeName], ["host-gw", "/p.json", "w1"]);
  t.throws(() => parseCli(["run", "--static-pod-cidr", "10.1.0.0/24", "--routes", "host-gw"], env), /needs --peers-file/);
  t.throws(() => parseCli(["run", "--kubeconfig", "/k", "--peers-file", "/p"], env), /--peers-file only applies with --routes host-gw/);
  t.throws(() => parseCli(["run", "--routes", "bgp"], env), /Invalid --routes "bgp": expected off or host-gw/);
  t.throws(() => parseCli(["run", "--forward-accept", "yes"], env), /Invalid --forward-accept "yes"/);
});

t.test("parseCli: the leaked-lease sweep flags", async (t) => {
  const config = (args: string[]) => {
    const c = parseCli(["run", "--static-pod-cidr", "10.0.0.0/24", ...args], env);
    if (c.kind !== "run") throw new Error("expected run");
    return c.config;
  };
  t.match(config([]), { criEndpoint: "unix:///run/containerd/containerd.sock", gcIntervalMs: 600_000, gcPlugin: undefined });
  t.equal(config(["--cri-endpoint", "off"]).criEndpoint, undefined, "off: no sweep");
  t.equal(config(["--cri-endpoint="]).criEndpoint, undefined, "empty: no sweep");
  t.equal(config(["--gc-interval", "1h"]).gcIntervalMs, 3_600_000);
  t.throws(() => config(["--gc-interval", "10"]), /Invalid --gc-interval "10"/);
  t.throws(() => config(["--gc-interval", "500ms"]), /must be 0 or at least 1s/);
  t.throws(() => config(["--gc-plugin="]), /Invalid --gc-plugin: empty path/);
});
