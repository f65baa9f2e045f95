// Checks the import graph against the layering rules (a second line of defence next to eslint):
// core -> nothing of ours; native -> core; plugin, agent -> core + native/index only; never plugin <-> agent.
// Exceptions, each with its reason: plugin/ may also import native/client (the thin client's door: a unix socket
// only, so the executable's start-up on the service path loads no netlink and no koffi). Native code: koffi only
// in native/ffi/libc.ts, bun:ffi only in native/ffi/bun-libc.ts (it is fetched with process.getBuiltinModule,
// not imported, so any mention of it counts).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const layers = ["core", "native", "plugin", "agent"];
const allowed = { core: ["core"], native: ["core", "native"], plugin: ["core", "native", "plugin"], agent: ["core", "native", "agent"] };
const problems = [];

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) yield p;
  }
}

for (const layer of layers) {
  let files;
  try { files = [...walk(join(root, layer))]; } catch { continue; }
  for (const file of files) {
    const src = readFileSync(file, "utf8");
    if (src.includes("bun:ffi") && relative(root, file) !== "native/ffi/bun-libc.ts") problems.push(`${relative(root, file)}: mentions bun:ffi (only native/ffi/bun-libc.ts may)`);
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
      const spec = m[1] ?? m[2];
      const rel = relative(root, file);
      if (!spec.startsWith(".")) {
        if (spec === "koffi" && rel !== "native/ffi/libc.ts") problems.push(`${rel}: imports koffi`);
        if (spec === "@kubernetes/client-node" && layer !== "agent") problems.push(`${rel}: imports @kubernetes/client-node`);
        continue;
      }
      const target = relative(root, resolve(dirname(file), spec));
      const tLayer = target.split("/")[0];
      if (!layers.includes(tLayer)) continue;
      if (!allowed[layer].includes(tLayer)) problems.push(`${rel}: ${layer}/ may not import ${target}`);
      if ((layer === "plugin" || layer === "agent") && tLayer === "native" && !/^native\/(index|api)\.(js|ts)$/.test(target)) {
        if (layer === "plugin" && /^native\/client\.(js|ts)$/.test(target)) continue;
        problems.push(`${rel}: imports ${target}; use native/index.js`);
      }
    }
  }
}
if (problems.length) {
  console.error(`layering violations:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("layers ok");
