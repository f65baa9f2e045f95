// Checks the module graph with the TypeScript compiler (part of `npm run lint`, next to check-layers.mjs):
// - no import cycle among our modules (type-only imports included: a cycle is a design knot either way);
// - no dead export: every exported value of core/, native/, plugin/, agent/ (tests aside) is used by another
//   file (its own test counts: an export kept for its unit test is tested, not dead). Exported types are
//   not checked (they name the shapes of exported functions), nor the kernel-header mirrors */constants.ts.
// Today's offenders sit on explicit allow-lists below; they may only shrink (an entry that is no longer
// needed is reported too, so the list gets pruned). `--list` prints every finding, allowed or not.
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const layers = ["core", "native", "plugin", "agent"];

/** Cycles allowed for now, each as its sorted member files joined by " <> ". Goal: empty. */
const allowedCycles = new Set([
]);

/** Dead exports allowed for now ("file: name"). Goal: empty. */
const allowedDead = new Set([
]);

const listAll = process.argv.includes("--list");
const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n")); },
});
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
const checker = program.getTypeChecker();
const ours = (sf) => !sf.isDeclarationFile && !relative(root, sf.fileName).startsWith("..") && !sf.fileName.includes("/node_modules/");
const files = program.getSourceFiles().filter(ours);
const rel = (sf) => relative(root, sf.fileName);
const isTest = (path) => path.endsWith(".test.ts") || path.startsWith("test/");
const inLayers = (path) => layers.includes(path.split("/")[0]) && !isTest(path);

// ---- the import graph: static imports, re-exports and dynamic import("...") of our own modules ----
function importsOf(sf) {
  const specs = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      specs.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const out = new Set();
  for (const spec of specs) {
    const r = ts.resolveModuleName(spec, sf.fileName, config.options, ts.sys).resolvedModule;
    if (r && !r.isExternalLibraryImport && !r.resolvedFileName.endsWith(".d.ts")) out.add(relative(root, r.resolvedFileName));
  }
  return out;
}

function findCycles() {
  const graph = new Map(files.map((sf) => [rel(sf), [...importsOf(sf)]]));
  // Tarjan's strongly connected components: every component with more than one file is a cycle.
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], onStack = new Set(), cycles = [];
  const strong = (v) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp.sort().join(" <> "));
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return cycles;
}

// ---- dead exports: an export is alive when an identifier in another file resolves to it ----
function resolveAlias(sym) {
  return sym && sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
}

function findDeadExports() {
  const usedFrom = new Map(); // original symbol -> set of files that use it
  const use = (sym, file) => {
    const s = resolveAlias(sym);
    if (!s) return;
    let set = usedFrom.get(s);
    if (!set) usedFrom.set(s, (set = new Set()));
    set.add(file);
  };
  for (const sf of files) {
    const file = rel(sf);
    const visit = (node) => {
      if (ts.isIdentifier(node)) {
        use(checker.getSymbolAtLocation(node), file);
        // `const { a } = await import("./x.js")`: the property of the module namespace is the export.
        if (ts.isBindingElement(node.parent) && ts.isObjectBindingPattern(node.parent.parent)) {
          const name = node.parent.propertyName ?? node.parent.name;
          if (ts.isIdentifier(name)) use(checker.getTypeAtLocation(node.parent.parent).getProperty(name.text), file);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const dead = [];
  for (const sf of files) {
    const file = rel(sf);
    // constants.ts files mirror kernel headers whole, on purpose (a missing IFLA_* is worse than an unused one).
    if (!inLayers(file) || file.endsWith("/constants.ts")) continue;
    const mod = checker.getSymbolAtLocation(sf);
    if (!mod) continue;
    for (const exp of checker.getExportsOfModule(mod)) {
      const orig = resolveAlias(exp);
      // A re-export (native/index.ts) is judged where the symbol is declared, not here.
      if (orig !== exp && orig.declarations?.some((d) => d.getSourceFile() !== sf)) continue;
      if (!(orig.flags & ts.SymbolFlags.Value)) continue; // types name the shapes of exported functions
      const users = [...(usedFrom.get(orig) ?? [])].filter((f) => f !== file);
      if (users.length === 0) dead.push(`${file}: ${exp.name}`);
    }
  }
  return dead;
}

const problems = [];
const check = (kind, found, allowed) => {
  for (const f of found) {
    if (listAll) console.log(`${kind}: ${f}${allowed.has(f) ? " (allowed)" : ""}`);
    if (!allowed.has(f)) problems.push(`${kind}: ${f}`);
  }
  // Not an error (other branches fix entries while they work), but said, so the list gets pruned.
  for (const a of allowed) if (!found.includes(a)) console.log(`note: ${kind} "${a}" is fixed: remove it from the allow-list in scripts/check-graph.mjs`);
};
check("import cycle", findCycles(), allowedCycles);
check("dead export", findDeadExports(), allowedDead);
if (problems.length) {
  console.error(`module graph problems:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`graph ok (${files.length} files; allowed: ${allowedCycles.size} cycles, ${allowedDead.size} dead exports)`);
