// Builds dist/:
//   dist/kubenet        the thin CNI client (multi-call: the links bridge, host-local, loopback, bandwidth, portmap
//                       point to it): C + Duktape running plugin/client-main.ts (scripts/build-client.mjs); it
//                       starts for every call, in less CPU than a Go plugin, and hands in-process work to
//   dist/kubenet-full   the plugin: a Bun-compiled executable (one file: the Bun runtime, the whole plugin as
//                       bytecode, koffi.node embedded); KUBENET_PLUGIN_RUNTIME=node builds it as the Node script
//                       bundle instead (no Bun). A Bun-compiled executable starts in about half of `node -e 0`, a
//                       Node single executable needs ~1.4x (README "Measured")
//   dist/kubenet-agent  the node agent, an esbuild bundle run by Node: koffi, @kubernetes/client-node and
//                       @grpc/grpc-js (CRI, only `kubenet status`/`gc`) stay external, loaded from node_modules
//   dist/kubenet-cni-worker.js  the plugin's code for the agent's CNI service threads (Node bundle, beside the agent)
import { chmodSync, existsSync, mkdirSync, renameSync, symlinkSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBunPlugin } from "./build-bun.mjs";
import { buildClient, clientBuildProblem } from "./build-client.mjs";
import { bundleNode } from "./bundle-node.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
// The bundles are CommonJS without a file extension; the repo's "type": "module" would make Node load
// them as ES modules. A package.json in dist/ scopes them back to CommonJS.
// Everything in dist/ is replaced atomically (write a temp name, then rename): tests running from another
// shell keep exec'ing dist/kubenet while a rebuild happens (writing it in place fails them with ETXTBSY).
const tmpName = (p) => `${p}.tmp-${process.pid}`;
writeFileSync(tmpName(join(dist, "package.json")), '{ "type": "commonjs" }\n');
renameSync(tmpName(join(dist, "package.json")), join(dist, "package.json"));

const pluginRuntime = process.env.KUBENET_PLUGIN_RUNTIME ?? "bun";
if (pluginRuntime !== "bun" && pluginRuntime !== "node") throw new Error(`KUBENET_PLUGIN_RUNTIME must be bun or node, got ${JSON.stringify(pluginRuntime)}`);
const targets = [
  // The full plugin; dist/kubenet is the thin client in front of it (below), or, where the client cannot be
  // built, a link to it.
  { entry: "plugin/main.ts", out: "kubenet-full", runtime: pluginRuntime },
  { entry: "agent/main.ts", out: "kubenet-agent", runtime: "node" },
  // The agent's CNI service runs the plugin's own code in worker threads (Node), loaded from this file by path.
  { entry: "plugin/service-worker.ts", out: "kubenet-cni-worker.js", runtime: "node" },
];

// In parallel: Bun's compile (~3 s, mostly writing the 110 MB executable) and esbuild overlap.
await Promise.all(targets.map(async ({ entry, out, runtime }) => {
  if (!existsSync(join(root, entry))) return;
  const outfile = join(dist, out);
  if (runtime === "bun") await buildBunPlugin(root, join(root, entry), tmpName(outfile));
  else await bundleNode(join(root, entry), tmpName(outfile));
  chmodSync(tmpName(outfile), 0o755);
  renameSync(tmpName(outfile), outfile);
  console.log(`built ${outfile}${runtime === "bun" ? " (Bun-compiled)" : ""}`);
}));

// The thin client (Duktape, native/client-host): what /opt/cni/bin/kubenet is, because it starts for every call.
{
  const outfile = join(dist, "kubenet");
  const problem = clientBuildProblem();
  if (problem === undefined) {
    await buildClient(root, tmpName(outfile));
    chmodSync(tmpName(outfile), 0o755);
    console.log(`built ${outfile} (thin client, Duktape)`);
  } else {
    console.warn(`build: WARNING: no thin client: ${problem}; dist/kubenet is a link to kubenet-full (slower start-up)`);
    rmSync(tmpName(outfile), { force: true });
    symlinkSync("kubenet-full", tmpName(outfile));
  }
  renameSync(tmpName(outfile), outfile);
}

// Multi-call names: the same executable answers as the reference plugins it replaces.
if (existsSync(join(dist, "kubenet"))) {
  for (const alias of ["bridge", "host-local", "loopback", "bandwidth", "portmap"]) {
    const p = join(dist, alias);
    rmSync(tmpName(p), { force: true });
    symlinkSync("kubenet", tmpName(p));
    renameSync(tmpName(p), p);
  }
}
