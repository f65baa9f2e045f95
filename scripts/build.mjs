// Bundles the plugin and the agent with esbuild into dist/:
//   dist/kubenet        the CNI plugin (multi-call: also answers as bridge, host-local, loopback)
//   dist/kubenet-agent  the node agent
// koffi stays external: its prebuilt native module is loaded from node_modules next to dist/.
import { build } from "esbuild";
import { chmodSync, existsSync, mkdirSync, symlinkSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
// The bundles are CommonJS without a file extension; the repo's "type": "module" would make Node load
// them as ES modules. A package.json in dist/ scopes them back to CommonJS.
writeFileSync(join(dist, "package.json"), '{ "type": "commonjs" }\n');

const targets = [
  { entry: "plugin/main.ts", out: "kubenet" },
  { entry: "agent/main.ts", out: "kubenet-agent" },
];

for (const { entry, out } of targets) {
  if (!existsSync(join(root, entry))) continue;
  const outfile = join(dist, out);
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: ["koffi"],
    banner: { js: "#!/usr/bin/env node" },
    legalComments: "none",
    logLevel: "warning",
  });
  chmodSync(outfile, 0o755);
  console.log(`built ${outfile}`);
}

// Multi-call names: the same executable answers as the reference plugins it replaces.
if (existsSync(join(dist, "kubenet"))) {
  for (const alias of ["bridge", "host-local", "loopback"]) {
    const p = join(dist, alias);
    rmSync(p, { force: true });
    symlinkSync("kubenet", p);
  }
}
