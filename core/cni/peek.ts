// core/cni/peek: the thin client's cheap looks at stdin, before (and instead of) the full parse: which service
// socket to try, and which version an error must be written in. Pure. Imports only ./errors and ./version:
// the thin client loads this, and must not load the IP layer or the config parser (which uses
// agentSocketProblem from here).

import { q } from "./errors.js";
import { DEFAULT_CNI_VERSION, isCniVersion, type CniVersion } from "./version.js";

/** Where the agent's CNI service listens unless the config's `agentSocket` says otherwise. */
export const DEFAULT_AGENT_SOCKET = "/run/kubenet/cni.sock";
/** sockaddr_un.sun_path holds 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function parseObject(stdin: Uint8Array | string): Json | undefined {
  try {
    const raw: unknown = JSON.parse(typeof stdin === "string" ? stdin : new TextDecoder().decode(stdin));
    return isObj(raw) ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the version only (for error JSON before the rest is validated); undefined when unusable. */
export function peekCniVersion(stdin: Uint8Array | string): CniVersion | undefined {
  const raw = parseObject(stdin);
  if (raw === undefined) return undefined;
  const v = raw["cniVersion"];
  if (v === undefined || v === "") return DEFAULT_CNI_VERSION;
  return isCniVersion(v) ? v : undefined;
}

/** What is wrong with an `agentSocket` value (an absolute path, or "off"), or undefined when it is fine. */
export function agentSocketProblem(v: unknown): string | undefined {
  if (typeof v !== "string") return `agentSocket must be a string, got ${q(v)}`;
  if (v === "off") return undefined;
  if (!v.startsWith("/")) return `agentSocket ${q(v)} is not an absolute path: use e.g. ${q(DEFAULT_AGENT_SOCKET)}, or "off"`;
  if (new TextEncoder().encode(v).length > MAX_SOCKET_PATH_BYTES || v.includes("\0")) {
    return `agentSocket ${q(v)} is not a usable unix socket path (at most ${MAX_SOCKET_PATH_BYTES} bytes, no NUL)`;
  }
  return undefined;
}

/**
 * The thin client's look at stdin: the service socket to try (the `agentSocket` key, else the default), or
 * undefined when the request must run in-process: agentSocket is "off", or stdin is not a JSON object or has
 * an invalid agentSocket (then the in-process run reports the problem with its proper error code).
 */
export function peekAgentSocket(stdin: Uint8Array | string): string | undefined {
  const raw = parseObject(stdin);
  if (raw === undefined) return undefined;
  const v = raw["agentSocket"] ?? DEFAULT_AGENT_SOCKET;
  return agentSocketProblem(v) === undefined && v !== "off" ? (v as string) : undefined;
}
