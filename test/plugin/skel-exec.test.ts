// The protocol layer of the built executable: multi-call names, VERSION, the about banner, exit codes,
// stdout carrying only JSON, logFile, and a clean start-up (nothing from the agent is loaded).

import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import t from "tap";
import { BRIDGE_BIN, CNI_MODE, HOST_LOCAL_BIN, KUBENET_BIN, KUBENET_FULL_BIN, LOOPBACK_BIN, describeRun, errorOf, runPlugin } from "../support/plugin-harness.js";
import { hlConf, resultIps, tempDir } from "./ipam-support.js";

const SUPPORTED = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

t.test("VERSION under every name, stdin ignored", async (t) => {
  for (const bin of [KUBENET_BIN, BRIDGE_BIN, HOST_LOCAL_BIN, LOOPBACK_BIN]) {
    const r = runPlugin({ command: "VERSION", bin, config: "this is not JSON and is never read" });
    t.equal(r.code, 0, describeRun(r));
    t.same(r.json, { cniVersion: "1.1.0", supportedVersions: SUPPORTED }, bin);
    t.equal(r.stderr, "");
  }
});

t.test("no CNI_COMMAND: about banner on stderr, exit 0, nothing on stdout", async (t) => {
  const r = runPlugin({ command: "", omitCommand: true, bin: HOST_LOCAL_BIN });
  t.equal(r.code, 0);
  t.equal(r.stdout, "");
  t.match(r.stderr, /invoked as host-local\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0/);
  const empty = runPlugin({ command: "", bin: KUBENET_BIN });
  t.equal(empty.code, 0, "an empty CNI_COMMAND is the same as none");
});

t.test("kubenet picks the plugin from the config's type", async (t) => {
  const dataDir = tempDir(t);
  const r = runPlugin({ command: "ADD", containerId: "a", netns: "/x", ifName: "eth0", bin: KUBENET_BIN, config: hlConf({ dataDir }) });
  t.equal(r.code, 0, describeRun(r));
  t.same(resultIps(r.json), ["10.50.0.2"], "type host-local served in-process by dist/kubenet");
  t.match(r.stderr, /host-local ADD a\/eth0: allocated/);
});

t.test("errors: exit 1, one JSON object on stdout, the log line on stderr", async (t) => {
  const r = runPlugin({ command: "ADD", containerId: "a", netns: "/x", ifName: "eth0", bin: HOST_LOCAL_BIN, config: { cniVersion: "0.4.0", name: "n" } });
  t.equal(r.code, 1);
  t.same(r.json, { cniVersion: "0.4.0", code: 7, msg: `missing "ipam" section: host-local needs {"ipam":{"type":"host-local","ranges":[...]}}` });
  t.match(r.stderr, /ERROR host-local ADD a\/eth0: failed: missing "ipam" section: .* code=7/);
});

t.test("logFile: log lines appended there too, never on stdout", async (t) => {
  const dataDir = tempDir(t);
  const logFile = join(dataDir, "plugin.log");
  const config = hlConf({ dataDir, extra: { logFile } });
  t.equal(runPlugin({ command: "ADD", containerId: "a", netns: "/x", ifName: "eth0", bin: HOST_LOCAL_BIN, config }).code, 0);
  const bad = runPlugin({ command: "ADD", containerId: "a", netns: "/x", ifName: "eth0", bin: HOST_LOCAL_BIN, config });
  t.equal(errorOf(bad)?.code, 107);
  const log = readFileSync(logFile, "utf8");
  t.match(log, /INFO host-local ADD a\/eth0: allocated ips="10.50.0.2"/);
  t.match(log, /ERROR host-local ADD a\/eth0: failed: failed to allocate for range 0: 10.50.0.2 has been allocated to a/);
  const unwritable = runPlugin({ command: "DEL", containerId: "a", ifName: "eth0", bin: HOST_LOCAL_BIN, config: hlConf({ dataDir, extra: { logFile: "/proc/nope/log" } }) });
  t.equal(unwritable.code, 0, "an unwritable logFile never fails the command");
  t.match(unwritable.stderr, /cannot append to logFile "\/proc\/nope\/log"/);
});

t.test("start-up stays lean: host-local and VERSION never load koffi's datapath or the agent", async (t) => {
  // A Buffer search: dist/kubenet-full is a ~110 MB Bun-compiled executable (its JS is in there as text too), and
  // dist/kubenet the thin client (its JS embedded as bytes).
  for (const file of [KUBENET_BIN, KUBENET_FULL_BIN]) {
    const bundle = readFileSync(file);
    t.equal(bundle.indexOf("@kubernetes/client-node"), -1, `the agent's client library is not in ${basename(file)}`);
  }
  t.not(readFileSync(KUBENET_FULL_BIN).indexOf("kubenet-ts CNI plugin"), -1, "(the plugin's own text is found the same way)");
  // The dynamic linker reports every dlopen (koffi.node, from node_modules or the verified cache), under Node
  // and Bun alike; the VERSION answer stays on stdout.
  const r = runPlugin({ command: "VERSION", bin: KUBENET_BIN, env: { LD_DEBUG: "files" } });
  t.equal(r.code, 0);
  t.notMatch(r.stderr, /dynamically loaded/, "VERSION dlopens nothing (no koffi)");
  const hl = runPlugin({ command: "ADD", bin: HOST_LOCAL_BIN, netns: "/proc/self/ns/net", ifName: "eth0", containerId: "lean", config: hlConf({ dataDir: tempDir(t) }), env: { LD_DEBUG: "files" } });
  t.equal(hl.code, 0, describeRun(hl));
  if (CNI_MODE === "service" && readFileSync(KUBENET_BIN).subarray(0, 2).toString() !== "#!") {
    // Through the agent's service, the thin client (Duktape, or Bun's own FFI in kubenet-full) loads no koffi.
    t.notMatch(hl.stderr, /dynamically loaded/, "the thin client's host-local ADD through the service dlopens nothing (no koffi)");
  } else {
    t.match(hl.stderr, /dynamically loaded/, "(a host-local ADD does load koffi for its lock, so the check above can see a dlopen)");
  }
});
