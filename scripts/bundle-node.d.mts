/** Bundles `entry` into the CommonJS Node script `outfile` (see bundle-node.mjs). */
export function bundleNode(entry: string, outfile: string): Promise<void>;
