// agent/sources/static: PodCIDRs given on the command line, or in a small file that is re-read at every
// resync (so a demo, or a machine without a cluster, can move the PodCIDR by rewriting the file). Async fs.
// File format: JSON `{"podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"]}` or plain text with the CIDRs
// separated by commas or newlines; an empty file means "not assigned yet".

import { readFile } from "node:fs/promises";
import { parsePodCidrs, PodCidrError, type PodCidrs, type PodCidrSource } from "./pod-cidrs.js";

export function createStaticSource(cidrs: PodCidrs): PodCidrSource {
  return {
    kind: "static",
    run: (_onChange, signal) => waitForAbort(signal),
    synced: () => Promise.resolve(),
    current: () => Promise.resolve(cidrs),
  };
}

export function createStaticFileSource(path: string): PodCidrSource {
  return {
    kind: "static",
    run: (_onChange, signal) => waitForAbort(signal),
    synced: () => Promise.resolve(),
    async current() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new PodCidrError(`Cannot read the PodCIDR file ${JSON.stringify(path)}`, { cause: e });
      }
      return parsePodCidrFile(text, path);
    },
  };
}

/** @throws PodCidrError quoting the file */
export function parsePodCidrFile(text: string, path: string): PodCidrs | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  let texts: string[];
  if (trimmed.startsWith("{")) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (cause) {
      throw new PodCidrError(`Cannot parse the PodCIDR file ${JSON.stringify(path)} as JSON`, { cause });
    }
    const list = (doc as { podCIDRs?: unknown }).podCIDRs;
    if (!Array.isArray(list) || !list.every((c) => typeof c === "string")) {
      throw new PodCidrError(`Invalid PodCIDR file ${JSON.stringify(path)}: expected {"podCIDRs": ["<cidr>", ...]}`);
    }
    texts = list as string[];
  } else {
    texts = trimmed.split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== "" && !s.startsWith("#"));
  }
  if (texts.length === 0) return undefined;
  try {
    return parsePodCidrs(texts);
  } catch (cause) {
    throw new PodCidrError(`Invalid PodCIDR file ${JSON.stringify(path)}: ${(cause as Error).message}`, { cause });
  }
}

/** A source with nothing to watch: its run() just waits for the stop. */
export function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
