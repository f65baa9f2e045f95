// core/cni/errors: CNI error codes (spec + ours from 100 up) and the one error type that carries them.
// Pure. Every failure the plugin can foresee is a CniError with a code; skel turns it into
// `{cniVersion, code, msg, details}` on stdout. Plugin codes are documented in docs/plugin.md.

export const CNI_ERROR_CODE = {
  // Spec codes (0-99 reserved by the spec).
  INCOMPATIBLE_CNI_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENVIRONMENT_VARIABLES: 4,
  IO_FAILURE: 5,
  DECODING_FAILURE: 6,
  INVALID_NETWORK_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  NOT_AVAILABLE: 50,
  NOT_AVAILABLE_DEGRADED: 51,
  // Plugin-specific codes (100+), documented in docs/plugin.md.
  /** No free address left in an IPAM range set. */
  IPAM_RANGE_EXHAUSTED: 100,
  /** A requested IP (CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips) is taken, outside every range, or the gateway. */
  REQUESTED_IP_UNAVAILABLE: 101,
  /** A kernel (netlink, sysctl, netns, file system syscall) operation failed. */
  KERNEL_OPERATION_FAILED: 102,
  /** CNI_IFNAME already exists in the container namespace. */
  INTERFACE_EXISTS: 103,
  /** The bridge carries a different address and forceAddress is off. */
  BRIDGE_ADDRESS_CONFLICT: 104,
  /** CHECK found state that differs from prevResult / the config. */
  CHECK_MISMATCH: 105,
  /** A delegated (exec'd) plugin failed without a CNI error of its own, or printed garbage. */
  DELEGATE_FAILED: 106,
  /** (containerID, ifname) already holds a lease in this network (repeated ADD without DEL). */
  DUPLICATE_ALLOCATION: 107,
  /** Reading or writing the IPAM lease directory failed. */
  IPAM_STORE_FAILURE: 108,
  /** A link of the bridge's name exists but is not a bridge. */
  NOT_A_BRIDGE: 109,
  /** The container network namespace (CNI_NETNS) cannot be opened. */
  NETNS_UNAVAILABLE: 110,
  /** An iptables/ip6tables tool (ipMasq) could not run or failed. */
  IPTABLES_FAILED: 111,
  /** Catch-all for a bug: an exception nobody anticipated. Never expected. */
  INTERNAL: 999,
} as const;

export type CniErrorCode = (typeof CNI_ERROR_CODE)[keyof typeof CNI_ERROR_CODE];

/** Another plugin's own code, passed through as it is (a delegated IPAM plugin's error): any positive integer. */
export type ForeignCniCode = number & { readonly __foreignCniCode: true };

/** Marks a code that came from another plugin's error JSON (ours are CniErrorCode). */
export function foreignCode(code: number): ForeignCniCode {
  return code as ForeignCniCode;
}

export interface CniErrorOptions {
  readonly details?: string | undefined;
  readonly cause?: unknown;
}

/** A failure with a CNI error code. `message` is a plain sentence that quotes the offending value. */
export class CniError extends Error {
  readonly code: CniErrorCode | ForeignCniCode;
  readonly details: string | undefined;

  constructor(code: CniErrorCode | ForeignCniCode, message: string, options: CniErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CniError";
    this.code = code;
    this.details = options.details;
  }
}

/** The wire form of an error (spec §"Error"): `cniVersion` is always emitted, `details` when present. */
export interface CniErrorJson {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

export function encodeError(err: CniError, cniVersion: string): CniErrorJson {
  return err.details === undefined || err.details === ""
    ? { cniVersion, code: err.code, msg: err.message }
    : { cniVersion, code: err.code, msg: err.message, details: err.details };
}

/** JSON.stringify for messages: quotes a value the way a person can copy it back. */
export function q(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    const s = JSON.stringify(value);
    return s === undefined ? String(value) : s.length > 200 ? `${s.slice(0, 200)}...` : s;
  } catch {
    return String(value);
  }
}
