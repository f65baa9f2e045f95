// Builds single executables (Node SEA) into dist/sea/: one file each, no node_modules, no node on PATH.
//   dist/sea/kubenet        the CNI plugin (+ bridge, host-local, loopback, bandwidth, portmap symlinks)
//   dist/sea/kubenet-agent  the node agent (@kubernetes/client-node inside too, compiled only in Kubernetes mode)
//   dist/sea/kubenet-cni-worker.js  the plugin code the agent's CNI service runs in worker threads (beside it)
// Steps per executable: esbuild CJS bundle -> sea-config.json (koffi.node of this platform as an asset, plus
// a manifest naming it by hash) -> `node --experimental-sea-config` -> a copy of this very node binary (the
// blob only fits the node that made it; nothing is downloaded) -> postject -> chmod -> rename into place.
// At run time native/ffi/sea-addon.ts writes koffi.node to a verified cache file and dlopens it.
//   node scripts/build-sea.mjs [--no-code-cache] [--only kubenet|kubenet-agent]   (--no-code-cache: for measuring)
import { build } from "esbuild";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "sea");
// Per process: two builds at once (tests started from two shells) never share a file; results land by rename.
const work = join(out, `.build-${process.pid}`);
const args = process.argv.slice(2);
const useCodeCache = !args.includes("--no-code-cache");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
// The sentinel postject flips so that node looks for the blob (the same in every Node version with SEA).
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
// Must match native/ffi/sea-addon.ts SEA_NATIVE_MANIFEST.
const MANIFEST = "kubenet-native.json";

const started = performance.now();
mkdirSync(work, { recursive: true });

// The base executable: the node running this script, symlinks resolved. Its libc decides which koffi.node fits.
const baseNode = realpathSync(process.execPath);
const libc = process.report.getReport().header.glibcVersionRuntime ? "linux" : "musl";
const koffiNode = join(root, "node_modules", "@koromix", `koffi-linux-${process.arch}`, `${libc}_${process.arch}`, "koffi.node");
if (process.platform !== "linux" || !existsSync(koffiNode)) {
  throw new Error(`no prebuilt koffi for ${process.platform} ${libc} ${process.arch} (${koffiNode}): run npm ci on the target platform`);
}
// The executable is one file only if the base node links nothing but libc/libstdc++ (nodejs.org and NodeSource
// builds; a distribution's nodejs package may link libnode, OpenSSL, libuv ... from the system).
const shared = Object.entries(process.config.variables).filter(([k, v]) => k.startsWith("node_shared") && v === true).map(([k]) => k);
if (shared.length > 0) console.warn(`warning: ${baseNode} links shared libraries (${shared.join(", ")}): the executables need them on every node`);
// Named by content: the cache file of one version never collides with another's.
const koffiKey = `koffi-${createHash("sha256").update(readFileSync(koffiNode)).digest("hex").slice(0, 16)}.node`;
writeFileSync(join(work, MANIFEST), `${JSON.stringify({ koffi: koffiKey })}\n`);

// Optional dependencies that client-node's libraries try to require inside try/catch (node-fetch: encoding;
// ws: bufferutil, utf-8-validate). Not installed, so esbuild leaves the require() for run time, where a SEA's
// require (builtins only) prints a warning. Bundled as a module that fails like an absent one: same behaviour, no warning.
const absentOptional = {
  name: "absent-optional",
  setup(b) {
    b.onResolve({ filter: /^(encoding|bufferutil|utf-8-validate)$/ }, (a) => ({ path: a.path, namespace: "absent" }));
    b.onLoad({ filter: /.*/, namespace: "absent" }, (a) => ({
      contents: `throw Object.assign(new Error("Cannot find module '${a.path}' (not part of this single executable)"), { code: "MODULE_NOT_FOUND" });`,
      loader: "js",
    }));
  },
};

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["koffi"],
  plugins: [absentOptional],
  legalComments: "none",
  logLevel: "warning",
};

// The agent's @kubernetes/client-node (15 MB bundled) travels as a separate asset, compiled only when the
// Kubernetes mode imports it. Inside the main script V8 would hold and parse all of it at every start: measured,
// the static-mode agent's resident memory went from 51 to 110 MB and `--help` from 39 to 142 ms (74 ms with a
// code cache). Compiled from the asset it loads in ~170 ms, vs ~360 ms for the ES modules in node_modules.
const CLIENT_NODE_ASSET = "client-node.cjs";
// The same for the plugin's CRI client (@grpc/grpc-js, only `kubenet status` / `kubenet gc` load it): kept out of
// the script every ADD/DEL parses.
const GRPC_ASSET = "grpc-js.cjs";
/** Resolves `spec` to a module that compiles the bundled asset on first require. */
function moduleFromAsset(spec, asset) {
  return {
    name: `${asset}-from-asset`,
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${spec.replace(/[/.@-]/g, "\\$&")}$`) }, (a) => ({ path: a.path, namespace: `sea-asset-${asset}` }));
      b.onLoad({ filter: /.*/, namespace: `sea-asset-${asset}` }, () => ({
        contents: [
          `const source = require("node:sea").getAsset(${JSON.stringify(asset)}, "utf8");`,
          `const params = ["exports", "require", "module", "__filename", "__dirname"];`,
          `const wrapper = require("node:vm").compileFunction(source, params, { filename: ${JSON.stringify(asset)} });`,
          // A SEA's require loads builtins only: all the bundle needs.
          `wrapper.call(module.exports, module.exports, require, module, ${JSON.stringify(asset)}, ".");`,
        ].join("\n"),
        loader: "js",
      }));
    },
  };
}
const clientNodeFromAsset = moduleFromAsset("@kubernetes/client-node", CLIENT_NODE_ASSET);
/** Bundles `spec` alone into the work dir as the asset the executable carries. */
const bundleAsset = (spec, asset) => build({
  stdin: { contents: `module.exports = require(${JSON.stringify(spec)});`, resolveDir: root, loader: "js" },
  outfile: join(work, asset),
  ...common,
});

const targets = [
  // koffi is not bundled either way: libc.ts loads its .node itself (from the asset inside a SEA).
  // The plugin starts for every pod: V8's code cache saves ~4 ms of its ~25 ms (measured, bench-startup.mjs).
  {
    entry: "plugin/main.ts",
    name: "kubenet",
    aliases: ["bridge", "host-local", "loopback", "bandwidth", "portmap"],
    plugins: [moduleFromAsset("@grpc/grpc-js", GRPC_ASSET)],
    assets: { [GRPC_ASSET]: join(work, GRPC_ASSET) },
    codeCache: true,
    prepare: () => bundleAsset("@grpc/grpc-js", GRPC_ASSET),
  },
  {
    entry: "agent/main.ts",
    name: "kubenet-agent",
    aliases: [],
    // No code cache: V8 rejects it when heap flags differ from the build's, as deploy/'s NODE_OPTIONS
    // (--max-semi-space-size=1) do, and Node then warns on every start. It saved ~6 ms of a daemon's start.
    codeCache: false,
    plugins: [clientNodeFromAsset],
    assets: { [CLIENT_NODE_ASSET]: join(work, CLIENT_NODE_ASSET) },
    async prepare() {
      await build({
        stdin: { contents: 'export * from "@kubernetes/client-node";', resolveDir: root, loader: "js" },
        outfile: join(work, CLIENT_NODE_ASSET),
        ...common,
      });
      // The CNI service's worker threads run the plugin's code from this file beside the agent (a worker of
      // a single executable loads koffi from the executable's own asset, as the main thread does).
      await build({ ...common, entryPoints: [join(root, "plugin/service-worker.ts")], outfile: join(work, "kubenet-cni-worker.js") });
      renameSync(join(work, "kubenet-cni-worker.js"), join(out, "kubenet-cni-worker.js"));
    },
  },
].filter((t) => only === undefined || t.name === only);

async function buildOne({ entry, name, aliases, plugins, assets, prepare, codeCache }) {
  const script = join(work, `${name}.cjs`);
  await prepare?.();
  await build({ ...common, entryPoints: [join(root, entry)], outfile: script, plugins: [...common.plugins, ...plugins] });
  const config = join(work, `${name}.sea-config.json`);
  const blob = join(work, `${name}.blob`);
  writeFileSync(config, JSON.stringify({
    main: script,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: useCodeCache && codeCache,
    assets: { [MANIFEST]: join(work, MANIFEST), [koffiKey]: koffiNode, ...assets },
  }, null, 2));
  await run(baseNode, ["--experimental-sea-config", config], { cwd: work });
  const tmp = join(work, name);
  copyFileSync(baseNode, tmp);
  chmodSync(tmp, 0o755);
  try {
    await run(baseNode, [join(root, "node_modules", "postject", "dist", "cli.js"), tmp, "NODE_SEA_BLOB", blob, "--sentinel-fuse", FUSE]);
  } catch (e) {
    // postject's LIEF prints harmless warnings on success; show its output only when it failed.
    throw new Error(`postject ${name} failed: ${e.stderr || e.message}`);
  }
  // Replaced atomically: a test exec'ing the old file keeps running (writing in place would be ETXTBSY).
  renameSync(tmp, join(out, name));
  for (const alias of aliases) {
    const p = join(out, alias);
    symlinkSync(name, `${p}.tmp-${process.pid}`);
    renameSync(`${p}.tmp-${process.pid}`, p);
  }
  console.log(`built ${join(out, name)}${aliases.length ? ` (+ ${aliases.join(", ")})` : ""}${useCodeCache && codeCache ? " with code cache" : ""}`);
}

// In parallel: postject is single-threaded and takes most of the time.
try {
  await Promise.all(targets.map(buildOne));
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`single executables built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
