// test/containerd/pause-image: the pod sandbox image, built here because no registry is reachable. A tiny static
// C program that sleeps until SIGTERM (and reaps children, as k8s' pause does), compiled with `gcc -static`,
// packed by our own code as an OCI image layout tarball (ustar; one uncompressed layer) that
// `ctr -n k8s.io images import` loads.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const PAUSE_IMAGE = "registry.kubenet.test/pause:1";

const PAUSE_C = `
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
`;

/** Compiles the pause program into dir; returns its path. */
export function buildPause(dir: string): string {
  const src = join(dir, "pause.c");
  const bin = join(dir, "pause");
  writeFileSync(src, PAUSE_C);
  execFileSync("gcc", ["-static", "-Os", "-s", "-o", bin, src], { stdio: ["ignore", "ignore", "pipe"] });
  return bin;
}

interface TarEntry {
  readonly name: string;
  readonly data?: Uint8Array; // absent = directory
  readonly mode: number;
}

/** One ustar header block (POSIX.1-1988): names < 100 bytes, sizes in octal. */
function tarHeader(e: TarEntry): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number): void => void h.write(s.slice(0, len), off, "ascii");
  const octal = (n: number, len: number): string => `${n.toString(8).padStart(len - 1, "0")}\0`;
  put(e.data === undefined ? `${e.name}/` : e.name, 0, 100);
  put(octal(e.mode, 8), 100, 8);
  put(octal(0, 8), 108, 8); // uid
  put(octal(0, 8), 116, 8); // gid
  put(octal(e.data?.length ?? 0, 12), 124, 12);
  put(octal(0, 12), 136, 12); // mtime: fixed, so the same input gives the same digest
  put(e.data === undefined ? "5" : "0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  h.fill(" ", 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    if (e.data !== undefined) {
      parts.push(Buffer.from(e.data));
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024)); // two zero blocks end the archive
  return Buffer.concat(parts);
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Writes an OCI image layout tarball holding `pause` as /pause, tagged `ref`; returns its path. */
export function writePauseImage(dir: string, pauseBin: string, ref = PAUSE_IMAGE): string {
  const layer = tar([{ name: "pause", data: readFileSync(pauseBin), mode: 0o755 }]);
  const config = Buffer.from(JSON.stringify({
    architecture: process.arch === "x64" ? "amd64" : process.arch,
    os: "linux",
    config: { Entrypoint: ["/pause"], WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layer)}`] },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha256(config)}`, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${sha256(layer)}`, size: layer.length }],
  }));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${sha256(manifest)}`,
      size: manifest.length,
      // containerd names the imported image after this annotation.
      annotations: { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref.split(":").pop() ?? "latest" },
    }],
  }));
  const blob = (b: Buffer): TarEntry => ({ name: `blobs/sha256/${sha256(b)}`, data: b, mode: 0o644 });
  const out = join(dir, "pause-image.tar");
  writeFileSync(out, tar([
    { name: "oci-layout", data: Buffer.from('{"imageLayoutVersion":"1.0.0"}'), mode: 0o644 },
    { name: "index.json", data: index, mode: 0o644 },
    { name: "blobs", mode: 0o755 },
    { name: "blobs/sha256", mode: 0o755 },
    blob(layer),
    blob(config),
    blob(manifest),
  ]));
  return out;
}
