// The single executable's native module cache (no SEA needed: the asset store is faked, the bytes are real):
// the cache file is created with safe modes and reused; wrong content, a loose mode, another owner or an
// unsafe directory are never used; the loaded module is the checked inode (dlopen via /proc/self/fd).
import { chmodSync, chownSync, closeSync, fstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { SEA_NATIVE_MANIFEST, addonCacheDirs, loadEmbeddedAddon, openCachedAddon, type SeaAssets } from "./sea-addon.js";

const isRoot = process.getuid?.() === 0;

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "kt-sea-addon-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const BYTES = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);

/** The bytes a descriptor refers to (the inode that would be loaded). */
function contentOf(fd: number): Buffer {
  return readFileSync(`/proc/self/fd/${fd}`);
}

function fakeSea(assets: Record<string, Uint8Array | string>): SeaAssets {
  return {
    isSea: () => true,
    getRawAsset(key) {
      const a = assets[key];
      if (a === undefined) throw new Error(`no asset ${key}`);
      const b = typeof a === "string" ? Buffer.from(a) : a;
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}

t.test("addonCacheDirs: beside the executable first, then the per-uid temp directory", async (t) => {
  t.same(addonCacheDirs("/opt/cni/bin/kubenet", "/tmp", 0), ["/opt/cni/bin/.kubenet-native", "/tmp/kubenet-native-0"]);
});

t.test("creates the directory 0700 and the file 0600, then reuses the same file", async (t) => {
  const dir = join(tempDir(t), "cache");
  const fd = openCachedAddon(dir, "m-1.node", BYTES);
  t.same(contentOf(fd), Buffer.from(BYTES));
  const first = fstatSync(fd);
  closeSync(fd);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(first.mode & 0o777, 0o600);
  t.same(readdirSync(dir), ["m-1.node"], "no temp file left");
  const again = openCachedAddon(dir, "m-1.node", BYTES);
  t.equal(fstatSync(again).ino, first.ino, "reused, not rewritten");
  closeSync(again);
});

t.test("wrong content, a loose mode or a symlink is replaced, never handed out", async (t) => {
  const dir = join(tempDir(t), "cache");
  const path = join(dir, "m.node");
  closeSync(openCachedAddon(dir, "m.node", BYTES));
  const cases: [string, () => void][] = [
    ["same size, other bytes", () => writeFileSync(path, Buffer.alloc(BYTES.length, 0x90))],
    ["truncated", () => writeFileSync(path, Buffer.from(BYTES).subarray(0, 1000))],
    ["group/world-writable", () => chmodSync(path, 0o666)],
    ["a symlink to the right bytes", () => {
      writeFileSync(join(dir, "elsewhere"), BYTES);
      rmSync(path);
      symlinkSync(join(dir, "elsewhere"), path);
    }],
  ];
  for (const [what, tamper] of cases) {
    const before = statSync(path).ino;
    tamper();
    const fd = openCachedAddon(dir, "m.node", BYTES);
    const st = fstatSync(fd);
    t.ok(st.isFile() && st.ino !== before && (st.mode & 0o777) === 0o600, `${what}: a new file`);
    t.same(contentOf(fd), Buffer.from(BYTES), `${what}: the right bytes`);
    closeSync(fd);
  }
});

t.test("a file owned by another user is replaced", { skip: isRoot ? false : "chown needs root" }, async (t) => {
  const dir = join(tempDir(t), "cache");
  closeSync(openCachedAddon(dir, "m.node", BYTES));
  chownSync(join(dir, "m.node"), 65534, 65534);
  const fd = openCachedAddon(dir, "m.node", BYTES);
  t.equal(fstatSync(fd).uid, 0);
  closeSync(fd);
});

t.test("an unsafe directory is refused and nothing is written into it", async (t) => {
  const root = tempDir(t);
  const open = join(root, "open");
  mkdirSync(open, { mode: 0o700 });
  chmodSync(open, 0o777);
  t.throws(() => openCachedAddon(open, "m.node", BYTES), /not group\/world-writable/);
  t.same(readdirSync(open), []);
  const real = join(root, "real");
  mkdirSync(real, { mode: 0o700 });
  symlinkSync(real, join(root, "link"));
  t.throws(() => openCachedAddon(join(root, "link"), "m.node", BYTES), /not a directory/);
  t.same(readdirSync(real), []);
  if (isRoot) {
    const theirs = join(root, "theirs");
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    t.throws(() => openCachedAddon(theirs, "m.node", BYTES), /owned by uid 65534/);
  }
});

t.test("loadEmbeddedAddon: the manifest names the asset; the first usable directory wins", async (t) => {
  const root = tempDir(t);
  const bad = join(root, "bad");
  mkdirSync(bad, { mode: 0o700 });
  chmodSync(bad, 0o775);
  const good = join(root, "good");
  const sea = fakeSea({ [SEA_NATIVE_MANIFEST]: JSON.stringify({ m: "m-abc.node" }), "m-abc.node": BYTES });
  let loaded: Buffer | undefined;
  const mod = loadEmbeddedAddon(sea, "m", [bad, good], (fd) => {
    loaded = contentOf(fd);
    return "the module";
  });
  t.equal(mod, "the module");
  t.same(loaded, Buffer.from(BYTES));
  t.same(readdirSync(good), ["m-abc.node"]);

  // A failing dlopen (e.g. a noexec mount) moves on to the next directory; the error names every reason.
  const e = t.throws(() => loadEmbeddedAddon(sea, "m", [bad, good], () => {
    throw new Error("failed to map segment from shared object");
  })) as Error;
  t.match(e.message, /cannot load the native module m .*bad .*group\/world-writable.*dlopen .*good\/m-abc\.node: failed to map segment/);
  t.throws(() => loadEmbeddedAddon(sea, "other", [good]), /does not carry the native module other/);
});

t.test("the real koffi.node loads through the cache and works", async (t) => {
  const req = createRequire(join(process.cwd(), "index.js"));
  let bytes: Buffer;
  try {
    bytes = readFileSync(req.resolve(`@koromix/koffi-linux-${process.arch}/linux_${process.arch}/koffi.node`));
  } catch {
    t.comment("no glibc koffi.node for this platform in node_modules: nothing to load");
    return;
  }
  const sea = fakeSea({ [SEA_NATIVE_MANIFEST]: JSON.stringify({ koffi: "koffi-test.node" }), "koffi-test.node": bytes });
  const koffi = loadEmbeddedAddon(sea, "koffi", [join(tempDir(t), "cache")]) as { version: string; load(p: null): { func(d: string): () => number } };
  t.type(koffi.version, "string");
  t.equal(koffi.load(null).func("int getpid()")(), process.pid);
});
