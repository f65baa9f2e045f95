// One esbuild recipe for every Node bundle of the project's code: dist/kubenet-agent, the CNI service's worker,
// dist/kubenet when KUBENET_PLUGIN_RUNTIME=node, and the tests that need the plugin as a Node script.
import { build } from "esbuild";

/**
 * Bundles `entry` into the CommonJS script `outfile` (a `#!/usr/bin/env node` banner; make it executable
 * yourself). koffi: its prebuilt native module loads from node_modules. @kubernetes/client-node and
 * @grpc/grpc-js: only the agent's Kubernetes mode and the CRI commands import them (lazily); left out of the
 * bundle they cost nothing elsewhere (the agent's bundle shrinks from 18.5 MB to ~250 KB and the static
 * agent's resident memory roughly halves).
 */
export async function bundleNode(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: ["koffi", "@kubernetes/client-node", "@grpc/grpc-js"],
    banner: { js: "#!/usr/bin/env node" },
    legalComments: "none",
    logLevel: "warning",
  });
}
