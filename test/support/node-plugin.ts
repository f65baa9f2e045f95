// test/support/node-plugin: the plugin's entry bundled as a Node script, for the tests that need a Node build
// whatever dist/kubenet is (Bun-compiled by default): Node's module list, koffi instead of Bun's FFI. Built
// with the build's own recipe (scripts/bundle-node.mjs).

import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bundleNode } from "../../scripts/bundle-node.mjs";
import type { Teardownable } from "./netns.js";
import { DIST, REPO_ROOT } from "./plugin-harness.js";

/**
 * plugin/main.ts as the executable Node script `name` in a fresh directory inside dist/ (so koffi resolves from
 * the repo's node_modules, as for the Node build of dist/kubenet), removed at teardown. Returns its path.
 */
export async function nodePluginScript(t: Teardownable, name: string): Promise<string> {
  const dir = mkdtempSync(join(DIST, "node-plugin-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  await bundleNode(join(REPO_ROOT, "plugin", "main.ts"), file);
  chmodSync(file, 0o755);
  return file;
}
