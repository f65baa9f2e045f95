// End to end, each single-file build of the plugin installed as a node would have it: the Node single executable
// (dist/sea/kubenet, `npm run build:sea`) and the Bun-compiled dist/kubenet (`npm run build`), each as
// one file in a directory of its own (+ the alias symlinks), no node_modules anywhere up the tree or in the
// working directory, no `node` on PATH. It wires two pods that ping each other, answers as host-local and
// loopback, and loads koffi from its embedded asset through a cache file beside itself: created 0700/0600,
// reused, and replaced (never loaded) when its content, mode or owner is wrong.

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import t from "tap";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { DIST, REPO_ROOT, describeRun, isBunCompiled, isThinClient, runPlugin, type PluginRun } from "../support/plugin-harness.js";
import { containerId, kubenetConf, leases, link, ok, ping, resultIps, stripPrefix, tempDir, vethNames, withPrev } from "./datapath-support.js";

const SEA_BIN = join(DIST, "sea", "kubenet");
// Under scripts/test.sh, which builds the SEA for these tests, a missing executable fails instead of skipping.
const SKIP: string | false = KERNEL_SKIP || (existsSync(SEA_BIN) || process.env["KUBENET_SEA_REQUIRED"] === "1" ? false : `${SEA_BIN} is absent: run \`npm run build:sea\` (scripts/test.sh builds it for kernel runs)`);

const BUN_BIN = join(DIST, "kubenet-full");
/** The thin client (Duktape) installed as `kubenet` in front of kubenet-full. */
const CLIENT_BIN = join(DIST, "kubenet");

interface Executable {
  readonly label: string;
  readonly bin: string;
  /** Installed as kubenet-full beside `bin` (the thin client's full plugin). */
  readonly full?: string;
  readonly skip: string | false;
}

const EXECUTABLES: readonly Executable[] = [
  { label: "Node single executable", bin: SEA_BIN, skip: SKIP },
  {
    label: "Bun-compiled",
    bin: BUN_BIN,
    // npm run build makes dist/kubenet with Bun unless KUBENET_PLUGIN_RUNTIME=node asked for the Node script.
    skip: KERNEL_SKIP || (isBunCompiled(BUN_BIN) ? false : `${BUN_BIN} is not Bun-compiled (built with KUBENET_PLUGIN_RUNTIME=node?)`),
  },
  {
    label: "Duktape thin client + Bun-compiled kubenet-full",
    bin: CLIENT_BIN,
    full: BUN_BIN,
    skip: KERNEL_SKIP || (isBunCompiled(BUN_BIN) && isThinClient(CLIENT_BIN) ? false : `${CLIENT_BIN} is not the thin client in front of a Bun-compiled kubenet-full`),
  },
];

t.test("the single executable was built", { skip: SKIP }, async (t) => {
  t.ok(existsSync(SEA_BIN), `${SEA_BIN} exists (npm run build:sea)`);
});

interface Install {
  readonly dir: string;
  readonly bin: (name: string) => string;
  /** The koffi cache directory beside the executable. */
  readonly cacheDir: string;
  /** PATH with nsenter and env (what the harness execs) and /usr/sbin, but no node. */
  readonly PATH: string;
  /** TMPDIR for the plugin: the cache's fallback location stays inside the test's temp directory. */
  readonly TMPDIR: string;
}

/** Copies the executable(s) into a fresh directory with the alias links, as deploy/'s init container installs them. */
function install(t: Parameters<typeof tempDir>[0], { bin, full }: Executable): Install {
  const root = tempDir(t, "kubenet-sea-");
  const dir = join(root, "opt-cni-bin");
  const pathDir = join(root, "path");
  const tmp = join(root, "tmp");
  for (const d of [dir, pathDir, tmp]) mkdirSync(d);
  for (const [from, name] of [[bin, "kubenet"], [full, "kubenet-full"]] as const) {
    if (from === undefined) continue;
    copyFileSync(from, join(dir, name));
    chmodSync(join(dir, name), 0o755);
  }
  for (const alias of ["bridge", "host-local", "loopback"]) symlinkSync("kubenet", join(dir, alias));
  for (const tool of ["nsenter", "env"]) symlinkSync(execFileSync("which", [tool], { encoding: "utf8" }).trim(), join(pathDir, tool));
  return { dir, bin: (name) => join(dir, name), cacheDir: join(dir, ".kubenet-native"), PATH: `${pathDir}:/usr/sbin:/sbin`, TMPDIR: tmp };
}

interface Call {
  readonly host: TestNetns;
  readonly netns: string;
  readonly id: string;
  readonly config: unknown;
  readonly as?: string;
}

function sea(inst: Install, command: string, c: Call): PluginRun {
  return runPlugin({
    command,
    containerId: c.id,
    netns: c.netns,
    ifName: "eth0",
    path: inst.dir,
    config: c.config,
    host: c.host,
    bin: inst.bin(c.as ?? "kubenet"),
    env: { PATH: inst.PATH, TMPDIR: inst.TMPDIR },
  });
}

function cacheFile(inst: Install): string {
  const names = readdirSync(inst.cacheDir);
  if (names.length !== 1 || !/^koffi-[0-9a-f]{16}\.node$/.test(names[0] ?? "")) throw new Error(`unexpected cache content: ${names.join(", ")}`);
  return join(inst.cacheDir, names[0] as string);
}

/** The koffi.node the build embedded (this platform's glibc prebuilt). */
function koffiNodeBytes(): Buffer {
  const req = createRequire(join(REPO_ROOT, "package.json"));
  return readFileSync(req.resolve(`@koromix/koffi-linux-${process.arch}/linux_${process.arch}/koffi.node`));
}

// The executables run from a directory without node_modules: nothing could be resolved from the cwd either.
if (!KERNEL_SKIP) process.chdir(tempDir(t, "kubenet-sea-cwd-"));

for (const exe of EXECUTABLES) {
  t.test(`the environment of these tests has no node and no node_modules [${exe.label}]`, { skip: exe.skip }, async (t) => {
    const inst = install(t, exe);
    for (const d of inst.PATH.split(":")) t.notOk(existsSync(join(d, "node")), `no node in ${d}`);
    t.notOk(existsSync(join(process.cwd(), "node_modules")), "no node_modules in the working directory");
    const w = spawnSync("sh", ["-c", "command -v node"], { env: { PATH: inst.PATH } });
    t.not(w.status, 0, "`node` is not found on the plugin's PATH");
  });

  t.test(`VERSION from the copied single executable [${exe.label}]`, { skip: exe.skip }, async (t) => {
    const inst = install(t, exe);
    const { host, containers } = createTopology(t, 1);
    const r = sea(inst, "VERSION", { host, netns: (containers[0] as TestNetns).path, id: containerId(), config: { cniVersion: "1.0.0" } });
    t.equal(r.code, 0, describeRun(r));
    t.match(r.json, { cniVersion: "1.1.0", supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
    t.notOk(existsSync(inst.cacheDir), "VERSION loads no native code: no cache directory yet");
  });

  t.test(`ADD, CHECK and DEL of two pods that ping each other; the koffi cache is created safely [${exe.label}]`, { skip: exe.skip }, async (t) => {
    const inst = install(t, exe);
    const { host, containers } = createTopology(t, 2);
    const [a, b] = containers as [TestNetns, TestNetns];
    const dataDir = tempDir(t);
    const config = kubenetConf({ dataDir, subnet: "10.79.1.0/24" });
    const pods = [a, b].map((ns) => ({ ns, id: containerId() }));
    const results = pods.map((p) => ok(sea(inst, "ADD", { host, netns: p.ns.path, id: p.id, config })).json);
    const ips = results.map((r) => stripPrefix(resultIps(r)[0] as string));
    t.same(ips, ["10.79.1.2", "10.79.1.3"]);
    const p = ping(a, ips[1] as string);
    t.ok(p.ok, `pod a pings pod b: ${p.out}`);
    t.ok(ping(b, "10.79.1.1").ok, "pod b pings the gateway");

    const dirSt = lstatSync(inst.cacheDir);
    t.ok(dirSt.isDirectory(), "cache directory beside the executable");
    t.equal(dirSt.mode & 0o777, 0o700);
    t.equal(dirSt.uid, process.getuid?.());
    const file = cacheFile(inst);
    t.equal(statSync(file).mode & 0o777, 0o600);
    t.ok(readFileSync(file).equals(koffiNodeBytes()), "the cache holds exactly the embedded koffi.node");
    t.same(readdirSync(inst.TMPDIR), [], "the fallback location was not needed");

    pods.forEach((pod, i) => {
      const r = sea(inst, "CHECK", { host, netns: pod.ns.path, id: pod.id, config: withPrev(config, results[i]) });
      t.equal(r.code, 0, `CHECK pod ${i}: ${describeRun(r)}`);
    });
    for (const pod of pods) ok(sea(inst, "DEL", { host, netns: pod.ns.path, id: pod.id, config }));
    t.same(leases(dataDir), [], "leases released");
    t.same(vethNames(host), [], "veths gone");
  });

  t.test(`answers as host-local and loopback through its symlinks [${exe.label}]`, { skip: exe.skip }, async (t) => {
    const inst = install(t, exe);
    const { host, containers } = createTopology(t, 1);
    const pod = containers[0] as TestNetns;
    const dataDir = tempDir(t);
    const hl = {
      cniVersion: "1.0.0",
      name: "sea-hl",
      type: "host-local",
      ipam: { type: "host-local", ranges: [[{ subnet: "10.79.2.0/24" }]], dataDir },
    };
    const id = containerId();
    const r = ok(sea(inst, "ADD", { host, netns: pod.path, id, config: hl, as: "host-local" }));
    t.same(resultIps(r.json), ["10.79.2.2/24"]);
    t.same(leases(dataDir, "sea-hl"), ["10.79.2.2"]);
    ok(sea(inst, "DEL", { host, netns: pod.path, id, config: hl, as: "host-local" }));
    t.same(leases(dataDir, "sea-hl"), []);

    pod.exec("ip", ["link", "set", "lo", "down"]);
    const lo = { cniVersion: "1.0.0", name: "cni-loopback", type: "loopback" };
    ok(sea(inst, "ADD", { host, netns: pod.path, id, config: lo, as: "loopback" }));
    t.ok(link(pod, "lo")?.flags?.includes("UP"), "lo is up");
  });

  t.test(`the koffi cache is reused; wrong content, mode or owner is replaced, never loaded [${exe.label}]`, { skip: exe.skip }, async (t) => {
    const inst = install(t, exe);
    const { host, containers } = createTopology(t, 1);
    const pod = containers[0] as TestNetns;
    const lo = { cniVersion: "1.0.0", name: "cni-loopback", type: "loopback" };
    const loopback = (): PluginRun => ok(sea(inst, "ADD", { host, netns: pod.path, id: containerId(), config: lo, as: "loopback" }));
    const koffi = koffiNodeBytes();
    loopback();
    const file = cacheFile(inst);
    const first = statSync(file);
    loopback();
    const again = statSync(file);
    t.same([again.ino, again.mtimeMs], [first.ino, first.mtimeMs], "second run reuses the file");

    // A shared object that would announce being loaded (its constructor creates a marker), padded to the size
    // of the real one: the worst tampering, a valid library in place of koffi.node. Needs a C compiler.
    const marker = join(inst.TMPDIR, "loaded");
    let evil: Buffer | undefined;
    const cc = spawnSync("sh", ["-c", "command -v cc"], { encoding: "utf8" });
    if (cc.status === 0) {
      const src = join(inst.TMPDIR, "evil.c");
      writeFileSync(src, `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void m(void) { close(open("${marker}", O_CREAT | O_WRONLY, 0600)); }\n`);
      execFileSync("cc", ["-shared", "-fPIC", "-o", `${src}.so`, src]);
      const so = readFileSync(`${src}.so`);
      evil = Buffer.concat([so, Buffer.alloc(Math.max(0, koffi.length - so.length))]);
    } else {
      t.comment("no C compiler: the tampered files below are not loadable libraries");
    }
    const tampers: [string, () => void][] = [
      ["other bytes of the same size", () => writeFileSync(file, Buffer.alloc(koffi.length, 0x90))],
      ["truncated", () => writeFileSync(file, koffi.subarray(0, 4096))],
      ...(evil === undefined ? [] : [["a valid library that is not koffi", () => writeFileSync(file, evil)] as [string, () => void]]),
      ["the right bytes but group/world-writable", () => chmodSync(file, 0o666)],
      ["the right bytes but owned by someone else", () => execFileSync("chown", ["65534:65534", file])],
    ];
    for (const [what, tamper] of tampers) {
      const before = statSync(file).ino;
      tamper();
      loopback();
      const st = statSync(file);
      t.ok(st.ino !== before && st.uid === process.getuid?.() && (st.mode & 0o777) === 0o600, `${what}: replaced by a fresh 0600 file`);
      t.ok(readFileSync(file).equals(koffi), `${what}: right content again`);
    }
    t.notOk(existsSync(marker), "the tampered library was never loaded");
    t.same(readdirSync(inst.cacheDir), [file.split("/").pop()], "no temp files left");

    // A cache directory others may write is not used at all: the per-uid temp directory takes over.
    chmodSync(inst.cacheDir, 0o777);
    writeFileSync(file, Buffer.alloc(koffi.length, 0x90));
    loopback();
    t.ok(readFileSync(file).equals(Buffer.alloc(koffi.length, 0x90)), "the unsafe directory's file is left untouched (and unused)");
    const fallback = join(inst.TMPDIR, `kubenet-native-${process.getuid?.()}`);
    t.equal(lstatSync(fallback).mode & 0o777, 0o700);
    t.same(readdirSync(fallback), [file.split("/").pop()], "koffi cached in the fallback directory");
  });
}
