// core/cni/version: the CNI spec versions this plugin speaks and comparisons between them.
// Pure; no imports. Version strings are compared by exact membership (as the Go lib does), then by semver.

/** Every spec version we accept and emit, oldest first (the Go lib's `version.All`). */
export const SUPPORTED_CNI_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

export type CniVersion = (typeof SUPPORTED_CNI_VERSIONS)[number];

/** The newest version we implement (what VERSION reports for itself). */
export const CURRENT_CNI_VERSION: CniVersion = "1.1.0";

/** A config without `cniVersion` is treated as 0.1.0 (the Go lib's `DecodeVersion`). */
export const DEFAULT_CNI_VERSION: CniVersion = "0.1.0";

export function isCniVersion(v: unknown): v is CniVersion {
  return typeof v === "string" && (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v);
}

/** Numeric semver compare of "a.b.c" strings (no pre-release parts; unknown shapes compare as 0.0.0). */
export function compareVersions(a: string, b: string): number {
  const pa = parseTriple(a);
  const pb = parseTriple(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function parseTriple(v: string): number[] {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

/** True when `v` is `min` or newer: cniVersionAtLeast(conf.cniVersion, "0.4.0") gates CHECK. */
export function cniVersionAtLeast(v: string, min: CniVersion): boolean {
  return compareVersions(v, min) >= 0;
}

/** Result shape family of a version: "0.2" (ip4/ip6), "0.4" (ips with `version`), "1" (ips without). */
export type ResultShape = "0.2" | "0.4" | "1.0" | "1.1";

export function resultShapeOf(v: CniVersion): ResultShape {
  switch (v) {
    case "0.1.0":
    case "0.2.0":
      return "0.2";
    case "0.3.0":
    case "0.3.1":
    case "0.4.0":
      return "0.4";
    case "1.0.0":
      return "1.0";
    case "1.1.0":
      return "1.1";
  }
}
