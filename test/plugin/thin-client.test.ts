// The thin client of each plugin build against a fake CNI service (a unix socket in this test process that
// answers, refuses or drops requests on purpose): dist/kubenet, the Duktape client (native/client-host), which
// hands in-process calls to kubenet-full beside it; the Bun-compiled dist/kubenet-full on its own, whose socket
// goes through Bun's own FFI; and the same entry as a Node script bundle, whose socket goes through koffi. All
// must behave the same: an answer is passed through byte for byte (exit code, stdout, stderr) and nothing runs
// in-process; a refusal or a missing socket runs the command in-process (host-local ADD: a lease appears);
// a request the service took and then dropped is CNI code 11, never run twice. The Bun build never loads
// koffi on the service path (its koffi cache beside the executable is not even created) and loads it
// lazily when it falls back.

import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import t from "tap";
import { REFUSAL, WIRE_HEADER_BYTES, decodeHeader, decodeRequestBody, encodeRefusal, encodeResult, type WireRequest } from "../../core/cni/wire.js";
import { nodePluginScript } from "../support/node-plugin.js";
import { KUBENET_BIN, KUBENET_FULL_BIN, isBunCompiled, isThinClient, runPluginAsync, type PluginRun } from "../support/plugin-harness.js";
import { containerId, tempDir, type TapTest } from "./datapath-support.js";

type Behaviour = "answer" | "refuse" | "drop";

interface FakeService {
  readonly path: string;
  /** Every complete request it received. */
  readonly requests: WireRequest[];
}

/** A unix socket that reads one framed request per connection and answers as `behaviour` says. */
async function fakeService(t: TapTest, behaviour: Behaviour): Promise<FakeService> {
  const dir = tempDir(t, "kubenet-fake-svc-");
  const path = join(dir, "cni.sock");
  const requests: WireRequest[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (sock: Socket) => {
    let buf = Buffer.alloc(0);
    sock.on("error", () => {});
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < WIRE_HEADER_BYTES || buf.length < WIRE_HEADER_BYTES + decodeHeader(buf).bodyLength) return;
      requests.push(decodeRequestBody(buf.subarray(WIRE_HEADER_BYTES)));
      if (behaviour === "answer") sock.end(encodeResult({ exitCode: 3, stdout: Buffer.from('{"answered":"by the fake"}'), stderr: Buffer.from("fake stderr\n") }));
      else if (behaviour === "refuse") sock.end(encodeRefusal(REFUSAL.PEER, "the fake refuses everyone"));
      else sock.destroy(); // took the request, then went away
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { path, requests };
}

/** An ADD of `bin` as a runtime runs it (the harness: clean env, config on stdin), without blocking this process (the fake serves here). */
function run(bin: string, id: string, config: unknown): Promise<PluginRun> {
  return runPluginAsync({ bin, command: "ADD", containerId: id, netns: "/proc/self/ns/net", ifName: "eth0", env: { KUBENET_DEBUG: "1" }, config });
}

interface Build {
  readonly label: string;
  /** The socket binding its debug line names. */
  readonly binding: "duktape" | "bun-ffi" | "koffi";
  /** Installs it in a fresh directory as `host-local`; returns the path to run. */
  install(t: TapTest): Promise<string>;
}

/** Copies `files` (name -> source) into a fresh bin directory with a `host-local` link to kubenet; returns the link. */
function installBin(t: TapTest, files: Record<string, string>): string {
  // A directory of its own: the koffi cache the full plugin would create beside itself shows whether koffi loaded.
  const dir = join(tempDir(t, "kubenet-thin-"), "bin");
  mkdirSync(dir);
  for (const [name, from] of Object.entries(files)) {
    copyFileSync(from, join(dir, name));
    chmodSync(join(dir, name), 0o755);
  }
  symlinkSync("kubenet", join(dir, "host-local"));
  return join(dir, "host-local");
}

const BUILDS: readonly (Build & { readonly skip: string | false })[] = [
  {
    label: "Duktape thin client dist/kubenet (in front of the Bun-compiled dist/kubenet-full)",
    binding: "duktape",
    skip: isBunCompiled(KUBENET_FULL_BIN) && isThinClient(KUBENET_BIN) ? false : `${KUBENET_BIN} is not the thin client in front of a Bun-compiled kubenet-full`,
    install: async (t) => installBin(t, { kubenet: KUBENET_BIN, "kubenet-full": KUBENET_FULL_BIN }),
  },
  {
    label: "Bun-compiled dist/kubenet-full on its own",
    binding: "bun-ffi",
    skip: isBunCompiled(KUBENET_FULL_BIN) ? false : `${KUBENET_FULL_BIN} is not Bun-compiled (built with KUBENET_PLUGIN_RUNTIME=node?)`,
    install: async (t) => installBin(t, { kubenet: KUBENET_FULL_BIN }),
  },
  {
    label: "Node script bundle",
    binding: "koffi",
    skip: false,
    async install(t) {
      const kubenet = await nodePluginScript(t, "kubenet");
      symlinkSync("kubenet", join(dirname(kubenet), "host-local"));
      return join(dirname(kubenet), "host-local");
    },
  },
];

function hostLocalConf(dataDir: string, agentSocket: string): Record<string, unknown> {
  return { cniVersion: "1.0.0", name: "thin", type: "host-local", agentSocket, ipam: { type: "host-local", ranges: [[{ subnet: "10.77.0.0/24" }]], dataDir } };
}

const leaseFiles = (dataDir: string): string[] => {
  const dir = join(dataDir, "thin");
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
};

for (const b of BUILDS) {
  t.test(b.label, { skip: b.skip }, async (t) => {
    const bin = await b.install(t);
    const koffiCache = join(bin, "..", ".kubenet-native");

    t.test("an answer is passed through and nothing runs in-process", async (t) => {
      const svc = await fakeService(t, "answer");
      const dataDir = tempDir(t);
      const id = containerId();
      const r = await run(bin, id, hostLocalConf(dataDir, svc.path));
      t.equal(r.code, 3, "the service's exit code");
      t.equal(r.stdout, '{"answered":"by the fake"}', "its stdout, byte for byte");
      t.match(r.stderr, /^fake stderr\n/, "its stderr");
      t.match(r.stderr, `socket through ${b.binding}`);
      t.equal(svc.requests.length, 1);
      const req = svc.requests[0] as WireRequest;
      t.equal(req.invokedAs, "host-local");
      t.same(JSON.parse(Buffer.from(req.stdin).toString()), hostLocalConf(dataDir, svc.path), "stdin as given");
      t.ok(req.env.some(([k, v]) => k === "CNI_CONTAINERID" && v === id), "the runtime's env table");
      t.same(leaseFiles(dataDir), [], "no lease: nothing ran here");
      if (b.binding !== "koffi") t.notOk(existsSync(koffiCache), "koffi was never loaded (no cache file beside the executable)");
    });

    t.test("a refusal runs the command in-process", async (t) => {
      const svc = await fakeService(t, "refuse");
      const dataDir = tempDir(t);
      const r = await run(bin, containerId(), hostLocalConf(dataDir, svc.path));
      t.equal(r.code, 0, "exit 0", { output: r.stdout + r.stderr });
      t.match(r.stderr, /running in-process: the service refused the request \(reason 2\): the fake refuses everyone/);
      t.match(JSON.parse(r.stdout), { ips: [{ address: /^10\.77\.0\.\d+\/24$/ }] });
      t.equal(leaseFiles(dataDir).length, 1, "the lease was taken in-process");
      t.equal(svc.requests.length, 1);
      if (b.binding !== "koffi") t.ok(existsSync(koffiCache), "koffi loaded for the in-process run (the lease lock), from its checked cache");
    });

    t.test("no socket runs the command in-process", async (t) => {
      const dataDir = tempDir(t);
      const missing = join(tempDir(t), "absent", "cni.sock");
      const r = await run(bin, containerId(), hostLocalConf(dataDir, missing));
      t.equal(r.code, 0, "exit 0", { output: r.stdout + r.stderr });
      t.match(r.stderr, /running in-process: cannot connect to ".*absent\/cni\.sock": .*ENOENT/);
      t.equal(leaseFiles(dataDir).length, 1);
    });

    t.test("a request the service took and dropped is code 11, run once", async (t) => {
      const svc = await fakeService(t, "drop");
      const dataDir = tempDir(t);
      const r = await run(bin, containerId(), hostLocalConf(dataDir, svc.path));
      t.equal(r.code, 1);
      t.match(JSON.parse(r.stdout), { code: 11, cniVersion: "1.0.0", msg: /accepted the request and then failed: it closed the connection without an answer/ });
      t.equal(svc.requests.length, 1, "sent once");
      t.same(leaseFiles(dataDir), [], "and not run in-process");
    });
  });
}
