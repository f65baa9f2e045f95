// agent/sources/node20-compat: lets @kubernetes/client-node 2.x load on Node 20.
//
// client-node 2.0.1 depends on undici 8, which declares Node >= 22.19 and, at load time or on the first
// request, uses three APIs Node 20 lacks. Each is filled in only when missing, with behaviour that is exact
// for how the agent uses the client (JSON over HTTP/1.1):
//  - zlib.createZstdDecompress (undici's decompress table): a stub that throws; the API server never
//    answers in zstd, because undici does not offer it in accept-encoding on Node 20 either.
//  - worker_threads.markAsUncloneable: marks objects as not structured-cloneable; a no-op here is safe
//    (we never post undici objects to workers).
//  - Promise.withResolvers: the ES2024 helper, implemented to spec.
// Remove this file when the runtime is Node >= 22.19 (or pin client-node 1.x): see docs/agent.md.

import wt from "node:worker_threads";
import zlib from "node:zlib";

let installed = false;

export function installNode20Compat(): void {
  if (installed) return;
  installed = true;
  // The default import of a builtin is its mutable module object, the one undici's require() returns
  // (a namespace import would be a frozen copy).
  const z = zlib as unknown as { createZstdDecompress?: unknown };
  if (typeof z.createZstdDecompress !== "function") {
    z.createZstdDecompress = () => {
      throw new Error("zstd decompression needs Node >= 22.15");
    };
  }
  const w = wt as unknown as { markAsUncloneable?: unknown };
  if (typeof w.markAsUncloneable !== "function") w.markAsUncloneable = () => undefined;
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers !== "function") {
    P.withResolvers = function withResolvers<T>() {
      let resolve!: (v: T | PromiseLike<T>) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    };
  }
}
