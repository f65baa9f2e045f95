// native/sysctl: read and write kernel parameters under /proc/sys, by "net.ipv4.ip_forward" or
// "net/ipv4/ip_forward" name, optionally inside another network namespace (through withNetnsSync).
// Imports node:fs, ./netns and ./ffi/sys-error. Synchronous: a write has taken effect when it returns.

import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import type { SysctlOptions } from "./api.js";
import { sysErrorFromNode } from "./ffi/sys-error.js";
import { withNetnsSync } from "./netns.js";

/**
 * The /proc/sys path of a parameter. Dotted names map dots to slashes; an interface name containing a dot
 * ("eth0.1") makes a dotted name ambiguous, so such names must use the slash form
 * ("net/ipv4/conf/eth0.1/arp_notify"), which is taken verbatim.
 * @throws RangeError for an empty name, "." / ".." segments or empty segments
 */
export function sysctlPath(name: string): string {
  const rel = name.includes("/") ? name.replace(/^\/?(proc\/sys\/)?/, "") : name.replace(/\./g, "/");
  const segments = rel.split("/");
  if (rel === "" || name.includes("\0") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new RangeError(
      `Invalid sysctl name ${JSON.stringify(name)}: expected "net.ipv4.ip_forward" or, when a segment contains a dot, "net/ipv4/conf/eth0.1/arp_notify"`,
    );
  }
  return `/proc/sys/${rel}`;
}

function inNetns<T>(options: SysctlOptions, fn: () => T): T {
  return options.netnsPath === undefined ? fn() : withNetnsSync(options.netnsPath, fn);
}

/** The parameter's value without the trailing newline. @throws SysError (ENOENT for an unknown name) */
export function readSysctl(name: string, options: SysctlOptions = {}): string {
  const path = sysctlPath(name);
  return inNetns(options, () => {
    try {
      return readFileSync(path, "utf8").replace(/\n$/, "");
    } catch (err) {
      throw sysErrorFromNode(err, "read", `sysctl ${name} (${path})`);
    }
  });
}

/** Writes the value (one write(2), as sysctl -w does). @throws SysError (ENOENT, EINVAL for a bad value, EACCES) */
export function writeSysctl(name: string, value: string | number, options: SysctlOptions = {}): void {
  const path = sysctlPath(name);
  inNetns(options, () => {
    let fd: number;
    try {
      fd = openSync(path, "r+");
    } catch (err) {
      throw sysErrorFromNode(err, "open", `sysctl ${name} (${path})`);
    }
    try {
      writeSync(fd, String(value));
    } catch (err) {
      throw sysErrorFromNode(err, "write", `sysctl ${name} = ${JSON.stringify(String(value))} (${path})`);
    } finally {
      closeSync(fd);
    }
  });
}
