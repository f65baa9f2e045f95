// core/cni/limits: the kernel's and the file system's limits on what a config and the CNI environment turn
// into (a lease path, the host veth's alias, an iptables comment), checked before anything is made, so a
// value one byte too long fails at once with the right code (7: config, 4: environment) and a message that
// quotes it, instead of failing late with an errno, or on every pod. Pure.

import { CNI_ERROR_CODE, CniError, q } from "./errors.js";

/** linux/limits.h: a path, NUL included. */
export const PATH_MAX = 4096;
/** linux/limits.h: one path component. */
export const NAME_MAX = 255;
/**
 * linux/if.h IFALIASZ is 256, and the netlink policy of IFLA_IFALIAS (NLA_STRING, len IFALIASZ - 1) counts
 * the NUL we send: this kernel answers ERANGE to 255 bytes of text. (iproute2 sends no NUL and gets 255.)
 */
export const MAX_ALIAS_BYTES = 254;
/**
 * xt_comment: XT_MAX_COMMENT_LEN is 256, NUL included. iptables 1.8 (nft and legacy) takes a longer --comment
 * silently and keeps 255 bytes, so a rule named by a longer comment could never be found again.
 */
export const MAX_IPTABLES_COMMENT_BYTES = 255;
/** The longest container ID a runtime makes (containerd, CRI-O, podman: 64 hex digits). */
const RUNTIME_CONTAINER_ID_BYTES = 64;
/** The longest name in a lease directory: an IPv6 lease ("ffff:...:ffff", 39). Temp files are shorter. */
export const LONGEST_LEASE_FILE_NAME = 39;

const byteLength = (s: string): number => Buffer.byteLength(s, "utf8");

/**
 * What is wrong with `path` as a file path the plugin opens, or undefined: a NUL, whitespace at an end or a
 * control character, not absolute (the
 * runtime's working directory is no place for node state), a component longer than NAME_MAX, or, with
 * `suffixBytes` more appended, longer than PATH_MAX - 1.
 */
export function pathProblem(path: string, suffixBytes = 0): string | undefined {
  if (path.includes("\0")) return "contains a NUL byte";
  // Legal in a file name, but in a config or the environment a template's stray space or newline: refused
  // rather than trimmed or taken literally (a directory named "networks\n" nobody could find).
  if (/^\s|\s$/.test(path)) return "has leading or trailing whitespace";
  if (/[\x01-\x1f\x7f]/.test(path)) return "contains a control character";
  if (!path.startsWith("/")) return "is not an absolute path";
  const long = path.split("/").find((c) => byteLength(c) > NAME_MAX);
  if (long !== undefined) return `has a component of ${byteLength(long)} bytes (NAME_MAX is ${NAME_MAX}): ${q(long.slice(0, 40))}...`;
  const total = byteLength(path) + suffixBytes;
  if (total > PATH_MAX - 1) {
    return suffixBytes > 0
      ? `makes paths of ${total} bytes in it (${byteLength(path)} + ${suffixBytes}; PATH_MAX is ${PATH_MAX} with the NUL)`
      : `is ${total} bytes long (PATH_MAX is ${PATH_MAX} with the NUL)`;
  }
  return undefined;
}

/** A path key of the config (ipam.dataDir, logFile, ...). @throws CniError 7 */
export function checkConfigPath(key: string, path: string, suffixBytes = 0): void {
  const problem = pathProblem(path, suffixBytes);
  if (problem) throw new CniError(CNI_ERROR_CODE.INVALID_NETWORK_CONFIG, `${key} ${q(path.length > 300 ? `${path.slice(0, 300)}...` : path)} ${problem}`);
}

/**
 * The lease directory `<dataDir>/<network>` and every file in it fit the file system: the network name is
 * one component (NAME_MAX), and the longest lease path stays under PATH_MAX. @throws CniError 7
 */
export function checkLeaseDir(dataDir: string, network: string): void {
  if (byteLength(network) > NAME_MAX) {
    throw new CniError(
      CNI_ERROR_CODE.INVALID_NETWORK_CONFIG,
      `network name ${q(`${network.slice(0, 40)}...`)} is ${byteLength(network)} bytes: it names the lease directory, and a file name is at most ${NAME_MAX} bytes (NAME_MAX)`,
    );
  }
  checkConfigPath("ipam.dataDir", dataDir, 1 + byteLength(network) + 1 + LONGEST_LEASE_FILE_NAME);
}

/**
 * The alias written on the host veth, `kubenet:<network>:<containerID>:<ifname>`, must fit MAX_ALIAS_BYTES.
 * When it does not, the container ID is to blame (4) if it is longer than any runtime's; otherwise the
 * network name is (7: with this name, ADDs of real containers would fail). @throws CniError 4/7
 */
export function checkHostVethAlias(alias: string, network: string, containerId: string, ifName: string): void {
  const n = byteLength(alias);
  if (n <= MAX_ALIAS_BYTES) return;
  const fixed = n - byteLength(network) - byteLength(containerId);
  if (byteLength(containerId) > RUNTIME_CONTAINER_ID_BYTES) {
    throw new CniError(
      CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES,
      `CNI_CONTAINERID ${q(`${containerId.slice(0, 40)}...`)} is ${byteLength(containerId)} bytes: with network ${q(network)} and CNI_IFNAME ${q(ifName)} the host veth's alias would be ${n} bytes, the kernel keeps at most ${MAX_ALIAS_BYTES}: use a container ID of at most ${MAX_ALIAS_BYTES - fixed - byteLength(network)} bytes`,
    );
  }
  throw new CniError(
    CNI_ERROR_CODE.INVALID_NETWORK_CONFIG,
    `network name ${q(network.length > 60 ? `${network.slice(0, 60)}...` : network)} is ${byteLength(network)} bytes: with container ID ${q(containerId)} and CNI_IFNAME ${q(ifName)} the host veth's alias ${q(`${alias.slice(0, 40)}...`)} would be ${n} bytes, the kernel keeps at most ${MAX_ALIAS_BYTES}: use a network name of at most ${MAX_ALIAS_BYTES - fixed - RUNTIME_CONTAINER_ID_BYTES} bytes (room for ${RUNTIME_CONTAINER_ID_BYTES}-byte container IDs)`,
  );
}

/**
 * ipMasq: the rules' comment `name: "<network>" id: "<containerID>"` must fit iptables' limit. Same blame
 * rule as the alias. @throws CniError 4/7
 */
export function checkIptablesComment(comment: string, network: string, containerId: string): void {
  const n = byteLength(comment);
  if (n <= MAX_IPTABLES_COMMENT_BYTES) return;
  const fixed = n - byteLength(network) - byteLength(containerId);
  if (byteLength(containerId) > RUNTIME_CONTAINER_ID_BYTES) {
    throw new CniError(
      CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES,
      `CNI_CONTAINERID ${q(`${containerId.slice(0, 40)}...`)} is ${byteLength(containerId)} bytes: with network ${q(network)} the ipMasq rules' comment would be ${n} bytes, iptables takes at most ${MAX_IPTABLES_COMMENT_BYTES}`,
    );
  }
  throw new CniError(
    CNI_ERROR_CODE.INVALID_NETWORK_CONFIG,
    `network name ${q(network.length > 60 ? `${network.slice(0, 60)}...` : network)} is ${byteLength(network)} bytes: with ipMasq the rules' comment would be ${n} bytes, iptables takes at most ${MAX_IPTABLES_COMMENT_BYTES}: use a network name of at most ${MAX_IPTABLES_COMMENT_BYTES - fixed - RUNTIME_CONTAINER_ID_BYTES} bytes`,
  );
}

/** CNI_NETNS: a path the kernel can open. @throws CniError 4 */
export function checkNetnsPath(path: string): void {
  const problem = pathProblem(path);
  if (problem) throw new CniError(CNI_ERROR_CODE.INVALID_ENVIRONMENT_VARIABLES, `CNI_NETNS ${q(path.length > 300 ? `${path.slice(0, 300)}...` : path)} ${problem}`);
}
