// Compiles the CNI plugin into one executable with Bun (`bun build --compile --bytecode`): the Bun runtime, the
// whole plugin as precompiled bytecode (the thin client and the in-process commands, which stay lazily
// initialised modules), and this platform's koffi.node as an embedded file. Bun is the `bun` devDependency
// (its binary comes from the npm registry with `npm ci`; nothing else is downloaded).
// koffi.node is NOT loaded the way Bun would (it unpacks an embedded .node to a predictable name in /tmp and
// dlopens it there, where another user could have planted a file first): it is embedded under a content-hashed
// name and native/ffi/sea-addon.ts writes it to its verified cache and dlopens the checked inode. The
// `KUBENET_BUN_EMBEDDED` define tells that code where the embedded files are and which one is koffi.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The prebuilt koffi.node of this platform (glibc or musl, as the running node). */
export function koffiNodePath(root) {
  const libc = process.report.getReport().header.glibcVersionRuntime ? "linux" : "musl";
  const p = join(root, "node_modules", "@koromix", `koffi-linux-${process.arch}`, `${libc}_${process.arch}`, "koffi.node");
  if (process.platform !== "linux" || !existsSync(p)) throw new Error(`no prebuilt koffi for ${process.platform} ${libc} ${process.arch} (${p}): run npm ci`);
  return p;
}

/** The bun binary of the devDependency. */
export function bunBinary(root) {
  const p = join(root, "node_modules", "bun", "bin", "bun.exe");
  if (!existsSync(p)) throw new Error(`${p} is missing: run npm ci (the bun devDependency), or build with KUBENET_PLUGIN_RUNTIME=node`);
  return p;
}

export async function buildBunPlugin(root, entry, outfile) {
  const work = `${outfile}.work`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const koffi = koffiNodePath(root);
    // Named by content (as for the Node single executable): a cache file of one version never collides with another's.
    const key = `koffi-${createHash("sha256").update(readFileSync(koffi)).digest("hex").slice(0, 16)}.node`;
    copyFileSync(koffi, join(work, key));
    const embedded = JSON.stringify({ dir: "/$bunfs/root", manifest: JSON.stringify({ koffi: key }) });
    const args = [
      "build", "--compile", "--bytecode",
      entry, join(work, key),
      // Extra entry points are embedded as files; "[name].[ext]" keeps the name the manifest gives.
      "--asset-naming=[name].[ext]",
      "--define", `KUBENET_BUN_EMBEDDED=${embedded}`,
      // Whitespace and syntax only: stack traces keep their function names.
      "--minify-whitespace", "--minify-syntax",
      // A plugin run lives ~100 ms: JIT tiers that only pay off later are CPU spent on every pod (a scale of
      // 100 delays tier-up; measured ~7 ms less CPU per thin-client call at load ~30).
      "--compile-jit-policy=100",
      // Never read .env or bunfig.toml from the runtime's working directory: nothing there configures a root
      // plugin (and each lookup is a syscall on every call).
      "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
      "--outfile", outfile,
    ];
    try {
      await run(bunBinary(root), args, { cwd: root, env: { ...process.env, NO_COLOR: "1" }, maxBuffer: 16 << 20 });
    } catch (e) {
      throw new Error(`bun build --compile failed: ${e.stderr || e.message}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
