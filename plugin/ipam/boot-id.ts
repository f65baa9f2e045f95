// plugin/ipam/boot-id: the kernel's boot ID, which tells leases of this boot from leases of a previous one
// (the lease directory persists across reboots, the pods' network namespaces do not). Pure parsing plus
// one synchronous read; imports node:fs only.

import { readFileSync } from "node:fs";

/** A random UUID the kernel draws at every boot (proc(5)). */
const KERNEL_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";

/** In the lease directory: the boot ID of the boot whose ADDs made the leases. Not an IP, so not a lease. */
export const BOOT_ID_FILE = "kubenet-boot-id";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The boot ID in `text` (surrounding whitespace ignored, lower case), or undefined when it is not a UUID. */
export function parseBootId(text: string): string | undefined {
  const id = text.trim().toLowerCase();
  return UUID_RE.test(id) ? id : undefined;
}

/** The current boot's ID, or undefined when `path` is unreadable or holds no UUID (then nothing is reclaimed). */
export function readKernelBootId(path: string = KERNEL_BOOT_ID_PATH): string | undefined {
  try {
    return parseBootId(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}
