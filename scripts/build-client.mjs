// Builds the thin CNI client executable (dist/kubenet): native/client-host/host.c with Duktape compiled in, and
// the client's TypeScript (plugin/client-main.ts, after native/client-host/es-shims.ts) embedded as ES5.
//   1. esbuild bundles the entry (ES2017, no Node API), 2. TypeScript lowers it to ES5 (Duktape 2.7 parses
//   ES5.1), 3. the result becomes a C array (client.js.h), 4. gcc links host.c with Duktape's one-file source.
// Duktape is Debian's duktape-dev (/usr/share/duktape/duktape.c: scripts/ensure-deps.sh installs it); its object
// file is cached under node_modules/.cache/kubenet-client/, keyed by the source's and the compiler's identity.
// Nothing is downloaded; the executable needs only libc on the node.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import ts from "typescript";

const run = promisify(execFile);
export const DUKTAPE_DIR = process.env.KUBENET_DUKTAPE_DIR ?? "/usr/share/duktape";

/** Whether this machine can build the client (gcc and Duktape's source); else the caller says why. */
export function clientBuildProblem() {
  if (!existsSync(join(DUKTAPE_DIR, "duktape.c"))) return `${join(DUKTAPE_DIR, "duktape.c")} is missing (apt-get install duktape-dev)`;
  return undefined;
}

async function bundleEs5(entry) {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    target: "es2017",
    logLevel: "warning",
  });
  const es2017 = r.outputFiles[0].text;
  const lowered = ts.transpileModule(es2017, {
    compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.CommonJS, downlevelIteration: true, removeComments: true },
    reportDiagnostics: true,
  });
  if (lowered.diagnostics?.length) throw new Error(`lowering ${entry} to ES5: ${ts.flattenDiagnosticMessageText(lowered.diagnostics[0].messageText, "\n")}`);
  return lowered.outputText;
}

async function duktapeObject(cacheDir, cc) {
  const src = join(DUKTAPE_DIR, "duktape.c");
  const { stdout: ccVersion } = await run(cc, ["--version"]);
  const key = createHash("sha256").update(readFileSync(src)).update(ccVersion).digest("hex").slice(0, 16);
  const obj = join(cacheDir, `duktape-${key}.o`);
  if (!existsSync(obj)) {
    await run(cc, ["-O2", "-fPIE", "-c", "-o", `${obj}.tmp`, "-I", DUKTAPE_DIR, src]);
    renameSync(`${obj}.tmp`, obj);
  }
  return obj;
}

/** Builds the client into `outfile`. */
export async function buildClient(root, outfile) {
  const problem = clientBuildProblem();
  if (problem) throw new Error(problem);
  const cc = process.env.CC ?? "gcc";
  const cacheDir = join(root, "node_modules", ".cache", "kubenet-client");
  mkdirSync(cacheDir, { recursive: true });
  const [shims, client, obj] = await Promise.all([
    bundleEs5(join(root, "native", "client-host", "es-shims.ts")),
    bundleEs5(join(root, "plugin", "client-main.ts")),
    duktapeObject(cacheDir, cc),
  ]);
  const js = Buffer.from(`${shims}\n${client}`);
  const work = mkdtempSync(join(cacheDir, "build-")); // client.js.h of this build only (builds may overlap)
  try {
    writeFileSync(join(work, "client.js.h"), `static const char client_js[] = {${js.join(",")}};\nstatic const unsigned client_js_len = ${js.length};\n`);
    await run(cc, ["-O2", "-Wall", "-Wextra", "-Werror", "-o", outfile, "-I", work, "-I", DUKTAPE_DIR, join(root, "native", "client-host", "host.c"), obj, "-lm"]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
