import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { CNI_ERROR_CODE, CniError } from "../core/cni/errors.js";
import type { PluginName } from "../core/cni/netconf.js";
import { parseCidr, parseIp } from "../core/ip-parse.js";
import { LockTimeoutError, NetnsNotFoundError, SysError } from "../native/index.js";
import { MAX_STDIN_BYTES } from "./client.js";
import { invokedPlugin, skelMain, toCniError, type SkelIo } from "./skel.js";
import type { PluginCommands, PluginRequest } from "./types.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: unknown;
  calls: PluginRequest[];
  loaded: PluginName[];
}

const okCommands = (calls: PluginRequest[], fail?: unknown): PluginCommands => ({
  add: (req) => {
    calls.push(req);
    if (fail !== undefined) throw fail;
    return {
      interfaces: [{ name: "eth0", sandbox: req.netns }],
      ips: [{ address: parseCidr("10.1.2.2/24"), gateway: parseIp("10.1.2.1"), interface: 0 }],
      routes: [],
      dns: {},
    };
  },
  del: (req) => void calls.push(req),
  check: (req) => void calls.push(req),
  gc: (req) => void calls.push(req),
  status: (req) => void calls.push(req),
});

async function run(env: Record<string, string>, stdin: string | Buffer | Error = "", opts: { invokedAs?: string; fail?: unknown } = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const calls: PluginRequest[] = [];
  const loaded: PluginName[] = [];
  const logFiles = new Map<string, string>();
  const io: SkelIo = {
    invokedAs: opts.invokedAs ?? "kubenet",
    env,
    readStdin: (limit) => {
      if (stdin instanceof Error) throw stdin;
      const b = Buffer.from(stdin);
      if (b.length > limit) throw new CniError(CNI_ERROR_CODE.IO_FAILURE, "too large");
      return b;
    },
    writeStdout: (s) => void (stdout += s),
    writeStderr: (s) => void (stderr += s),
    appendLog: (p, s) => void logFiles.set(p, (logFiles.get(p) ?? "") + s),
    loadCommands: async (p) => {
      loaded.push(p);
      return okCommands(calls, opts.fail);
    },
  };
  const code = await skelMain(io);
  let json: unknown;
  try {
    json = stdout ? JSON.parse(stdout) : undefined;
  } catch {
    json = "NOT JSON";
  }
  return Object.assign({ code, stdout, stderr, json, calls, loaded }, { logFiles });
}

const conf = (v = "1.0.0", extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: v, name: "net1", type: "kubenet", ipam: { subnet: "10.1.2.0/24" }, ...extra });
const addEnv = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "abc", CNI_NETNS: "/run/netns/x", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin" };

t.test("no CNI_COMMAND: about banner on stderr, exit 0", async (t) => {
  const r = await run({});
  t.equal(r.code, 0);
  t.equal(r.stdout, "");
  t.match(r.stderr, /CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0/);
});

t.test("VERSION ignores stdin", async (t) => {
  const r = await run({ CNI_COMMAND: "VERSION" }, new Error("must not read"));
  t.equal(r.code, 0);
  t.same(r.json, { cniVersion: "1.1.0", supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
});

t.test("ADD: request built from env, result in the config's version, logs not on stdout", async (t) => {
  for (const v of ["0.2.0", "0.3.1", "1.0.0", "1.1.0"]) {
    const r = await run({ ...addEnv, CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=p" }, conf(v));
    t.equal(r.code, 0, v);
    t.equal((r.json as { cniVersion: string }).cniVersion, v);
    const req = r.calls[0];
    if (req?.command !== "ADD") throw new Error("no ADD");
    t.equal(req.containerId, "abc");
    t.equal(req.netns, "/run/netns/x");
    t.same(req.cniPath, ["/opt/cni/bin"]);
    t.equal(req.cniArgs.get("K8S_POD_NAME"), "p");
    t.same(r.loaded, ["kubenet"]);
  }
  const r = await run(addEnv, conf("0.2.0"));
  t.same(r.json, { cniVersion: "0.2.0", ip4: { ip: "10.1.2.2/24", gateway: "10.1.2.1" }, dns: {} });
});

t.test("the plugin: invoked name, or the config's type for kubenet", async (t) => {
  t.equal(invokedPlugin("host-local"), "host-local");
  t.equal(invokedPlugin("bridge"), "bridge");
  t.equal(invokedPlugin("main.js"), "kubenet");
  t.equal(invokedPlugin("kubenet"), "kubenet");
  const r = await run({ ...addEnv, CNI_COMMAND: "DEL" }, conf("1.0.0", { type: "loopback" }));
  t.same(r.loaded, ["loopback"]);
  const r2 = await run({ ...addEnv, CNI_COMMAND: "DEL" }, conf("1.0.0", { type: "bridge" }), { invokedAs: "host-local" });
  t.same(r2.loaded, ["host-local"]);
});

t.test("DEL: empty CNI_NETNS is allowed and becomes undefined", async (t) => {
  const r = await run({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "abc", CNI_IFNAME: "eth0", CNI_NETNS: "" }, conf());
  t.equal(r.code, 0);
  t.equal(r.stdout, "", "nothing on stdout");
  const req = r.calls[0];
  t.equal(req?.command, "DEL");
  t.equal(req?.command === "DEL" ? req.netns : "x", undefined);
  // DEL tolerates an ipam section whose ranges no longer parse.
  const r2 = await run({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "abc", CNI_IFNAME: "eth0" }, conf("1.0.0", { ipam: { subnet: "10.1.2.7/24" } }));
  t.equal(r2.code, 0);
});

t.test("GC and STATUS", async (t) => {
  const r = await run({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" }, conf("1.1.0", { "cni.dev/valid-attachments": [{ containerID: "a", ifname: "eth0" }] }));
  t.equal(r.code, 0);
  t.same(r.calls[0]?.command === "GC" ? r.calls[0].validAttachments : undefined, [{ containerId: "a", ifName: "eth0" }]);
  const s = await run({ CNI_COMMAND: "STATUS" }, conf("1.1.0"));
  t.equal(s.code, 0);
  t.equal(s.calls[0]?.command, "STATUS");
});

t.test("errors: code, message, exit 1, JSON on stdout only", async (t) => {
  const cases: [string, Record<string, string>, string | Buffer | Error, number, RegExp][] = [
    ["unknown command", { CNI_COMMAND: "FROB" }, conf(), 4, /unknown CNI_COMMAND "FROB"/],
    ["lower-case command", { CNI_COMMAND: "add" }, conf(), 4, /unknown CNI_COMMAND "add"/],
    ["missing env", { CNI_COMMAND: "ADD", CNI_CONTAINERID: "abc" }, conf(), 4, /missing for ADD: CNI_NETNS, CNI_IFNAME/],
    ["empty container id", { ...addEnv, CNI_CONTAINERID: "" }, conf(), 4, /CNI_CONTAINERID/],
    ["bad container id", { ...addEnv, CNI_CONTAINERID: "../x" }, conf(), 4, /invalid characters in CNI_CONTAINERID "..\/x"/],
    ["ifname too long", { ...addEnv, CNI_IFNAME: "eth0123456789012" }, conf(), 4, /CNI_IFNAME "eth0123456789012" is longer than 15 bytes/],
    ["ifname slash", { ...addEnv, CNI_IFNAME: "a/b" }, conf(), 4, /CNI_IFNAME "a\/b" contains/],
    ["ifname dot", { ...addEnv, CNI_IFNAME: ".." }, conf(), 4, /CNI_IFNAME ".." is . or ../],
    ["GC without CNI_PATH", { CNI_COMMAND: "GC" }, conf("1.1.0"), 4, /missing for GC: CNI_PATH/],
    ["stdin read error", addEnv, new Error("EIO"), 5, /error reading the network configuration from stdin: EIO/],
    ["stdin too large", addEnv, Buffer.alloc(MAX_STDIN_BYTES + 1, 0x20), 5, /too large/],
    ["not JSON", addEnv, "{{", 6, /not valid JSON/],
    ["unknown version", addEnv, conf("2.0.0"), 1, /incompatible CNI versions/],
    ["CHECK on 0.3.1", { ...addEnv, CNI_COMMAND: "CHECK" }, conf("0.3.1"), 1, /config version "0.3.1" does not allow CHECK/],
    ["GC on 1.0.0", { CNI_COMMAND: "GC", CNI_PATH: "/x" }, conf("1.0.0"), 1, /config version "1.0.0" does not allow GC/],
    ["STATUS on 0.4.0", { CNI_COMMAND: "STATUS" }, conf("0.4.0"), 1, /does not allow STATUS/],
    ["bad CNI_ARGS", { ...addEnv, CNI_ARGS: "IP" }, conf(), 4, /CNI_ARGS: invalid pair "IP"/],
    ["unknown CNI_ARGS key", { ...addEnv, CNI_ARGS: "FOO=bar" }, conf(), 4, /unknown keys "FOO"/],
  ];
  for (const [name, env, stdin, code, re] of cases) {
    const r = await run(env, stdin);
    t.equal(r.code, 1, `${name}: exit 1`);
    const j = r.json as { code?: number; msg?: string; cniVersion?: string };
    t.equal(j?.code, code, `${name}: code`);
    t.match(j?.msg, re, `${name}: message`);
    t.type(j?.cniVersion, "string", `${name}: cniVersion`);
    t.same(r.calls, [], `${name}: command not called`);
    t.match(r.stderr, /ERROR/, `${name}: logged on stderr`);
  }
  const r = await run(addEnv, conf("0.4.0", { ipam: { subnet: "x" } }));
  t.equal((r.json as { cniVersion: string }).cniVersion, "0.4.0", "error JSON carries the config's version");
});

t.test("one mapping point: thrown values become CNI errors", async (t) => {
  const cases: [unknown, number, RegExp][] = [
    [new CniError(103, "exists"), 103, /exists/],
    [new LockTimeoutError("/x/lock", 50), 11, /Timed out after 50 ms.*try again later/],
    [new SysError("setns", 1, "entering x"), 102, /setns \(entering x\) failed: Operation not permitted \(EPERM\)/],
    [new NetnsNotFoundError("/run/netns/gone"), 110, /"\/run\/netns\/gone" does not exist/],
    [Object.assign(new Error("ENOSPC: no space left on device, write"), { errno: -28, code: "ENOSPC", syscall: "write" }), 102, /ENOSPC/],
    [new TypeError("x is undefined"), 999, /internal error .*x is undefined/],
    ["a string", 999, /a string/],
  ];
  for (const [err, code, re] of cases) {
    const e = toCniError(err);
    t.equal(e.code, code, String(err));
    t.match(e.message, re);
  }
  t.match(toCniError(new SysError("setns", 1)).details, /errno=EPERM\(1\) syscall=setns/);
  const r = await run(addEnv, conf(), { fail: new SysError("open", 2, "x") });
  t.equal((r.json as { code: number }).code, 102);
  t.match((r.json as { details: string }).details, /errno=ENOENT/);
});

t.test("logFile gets the log lines too; stdout stays the result", async (t) => {
  const d = mkdtempSync(join(tmpdir(), "kubenet-skel-"));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  const r = (await run(addEnv, conf("1.0.0", { logFile: join(d, "log"), ipam: { subnet: "x" } }))) as Run & { logFiles: Map<string, string> };
  t.equal(r.code, 1);
  // The config did not parse, so its logFile is unknown: stderr only.
  t.equal(r.logFiles.size, 0);
  const ok = (await run({ ...addEnv, KUBENET_DEBUG: "1" }, conf("1.0.0", { logFile: join(d, "log") }))) as Run & { logFiles: Map<string, string> };
  t.equal(ok.code, 0);
  t.match(ok.logFiles.get(join(d, "log")), /DEBUG kubenet ADD abc\/eth0: start/);
  t.notMatch(ok.stdout, /DEBUG/);
});

t.test("strict environment: every value refused with 4 before any command is loaded (nothing made)", async (t) => {
  const bad: [string, Record<string, string>, RegExp][] = [
    ["CNI_NETNS with a newline", { ...addEnv, CNI_NETNS: "/run/netns/x\n" }, /CNI_NETNS "\/run\/netns\/x\\n" has leading or trailing whitespace/],
    ["CNI_NETNS with a leading space", { ...addEnv, CNI_NETNS: " /run/netns/x" }, /CNI_NETNS " \/run\/netns\/x"/],
    ["CNI_NETNS relative", { ...addEnv, CNI_NETNS: "netns/x" }, /CNI_NETNS "netns\/x" is not an absolute path/],
    ["CNI_NETNS with a control character", { ...addEnv, CNI_NETNS: "/run/netns/a\tb" }, /control character/],
    ["CNI_CONTAINERID with a newline", { ...addEnv, CNI_CONTAINERID: "abc\n" }, /CNI_CONTAINERID "abc\\n"/],
    ["CNI_CONTAINERID with a space", { ...addEnv, CNI_CONTAINERID: " abc" }, /CNI_CONTAINERID " abc"/],
    ["CNI_IFNAME with a trailing space", { ...addEnv, CNI_IFNAME: "eth0 " }, /CNI_IFNAME "eth0 "/],
    ["CNI_COMMAND lower case", { ...addEnv, CNI_COMMAND: "add" }, /unknown CNI_COMMAND "add"/],
    ["CNI_COMMAND with a newline", { ...addEnv, CNI_COMMAND: "ADD\n" }, /unknown CNI_COMMAND "ADD\\n"/],
    ["CNI_ARGS IP with a newline", { ...addEnv, CNI_ARGS: "IP=10.1.2.5\n" }, /IP="10.1.2.5\\n"/],
    ["CNI_ARGS IP empty", { ...addEnv, CNI_ARGS: "IgnoreUnknown=1;IP=" }, /IP is empty/],
    ["CNI_ARGS MAC empty", { ...addEnv, CNI_ARGS: "MAC=" }, /MAC="" is not a MAC address/],
    ["CNI_ARGS MAC multicast", { ...addEnv, CNI_ARGS: "MAC=01:00:5e:00:00:01" }, /multicast/],
  ];
  for (const [name, env, re] of bad) {
    const r = await run(env, conf());
    const err = r.json as { code?: number; msg?: string } | undefined;
    t.ok(r.code !== 0 && err?.code === 4 && re.test(err.msg ?? ""), name, { got: err, wanted: String(re) });
    t.same(r.loaded, [], `${name}: no command loaded`);
  }
  const good = await run({ ...addEnv, CNI_ARGS: "IgnoreUnknown=1;IP=10.1.2.5,10.1.2.6/24;MAC=c2:11:22:33:44:55;K8S_POD_NAME=web-0" }, conf());
  t.equal(good.code, 0, "valid IP list and MAC accepted");
  const del = await run({ ...addEnv, CNI_COMMAND: "DEL", CNI_ARGS: "IP=10.1.2.5\n" }, conf());
  t.equal(del.code, 0, "DEL needs no CNI_ARGS value: a bad one is logged, the release goes on");
});
