// plugin/client: the thin client's half of the CNI service. Sends the runtime's env table and stdin to the
// agent's service over a unix socket and says what happened: answered (write it out), unavailable (nothing
// ran: run in-process), or lost (the service took the request and then failed or went silent: CNI code 11,
// never a second run). Imports core/ only, and only its light modules (the thin client loads this at start-up:
// no config parser, no IP layer); the socket is passed in (native UnixStream in production), so this stays
// testable and loads no streams. Synchronous.

import { CNI_ERROR_CODE, CniError, encodeError, q } from "../core/cni/errors.js";
import { peekCniVersion } from "../core/cni/peek.js";
import { CURRENT_CNI_VERSION } from "../core/cni/version.js";
import { REFUSAL, WIRE_HEADER_BYTES, WIRE_MAX_BODY, WireError, decodeAnswer, encodeRequest, type WireRequest } from "../core/cni/wire.js";

/** Largest config accepted on stdin. A real config (prevResult included) is a few KiB. */
export const MAX_STDIN_BYTES = 1024 * 1024;

/** The commands worth a round trip (VERSION and mistakes are answered in-process without koffi). */
export const SERVICE_COMMANDS: ReadonlySet<string> = new Set(["ADD", "DEL", "CHECK", "GC", "STATUS"]);

/**
 * How long the client waits for the next byte of the answer. Longer than any lock wait the service can have
 * (lockTimeoutMs is at most 10 min, default 10 s); a runtime cancels a hung call long before this anyway.
 */
const SERVICE_IDLE_TIMEOUT_MS = 11 * 60_000;

export interface ClientSocket {
  writeAll(data: Uint8Array): void;
  readToEnd(limit: number, idleMs: number): Uint8Array;
  close(): void;
}

export type ServiceOutcome =
  | { readonly kind: "answered"; readonly exitCode: number; readonly stdout: Uint8Array; readonly stderr: Uint8Array }
  | { readonly kind: "unavailable"; readonly reason: string }
  | { readonly kind: "lost"; readonly reason: string };

function why(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * One request to the service at `path`. Everything up to the last byte of the request is "unavailable" (the
 * service runs a request only once its whole body arrived); after it, a failure is "lost".
 */
export function callService(
  path: string,
  request: WireRequest,
  connect: (path: string) => ClientSocket,
  idleMs = SERVICE_IDLE_TIMEOUT_MS,
): ServiceOutcome {
  let sock: ClientSocket;
  try {
    sock = connect(path);
  } catch (e) {
    return { kind: "unavailable", reason: `cannot connect to ${q(path)}: ${why(e)}` };
  }
  try {
    try {
      sock.writeAll(encodeRequest(request));
    } catch (e) {
      return { kind: "unavailable", reason: `sending the request to ${q(path)} failed before it was complete: ${why(e)}` };
    }
    let answer: Uint8Array;
    try {
      answer = sock.readToEnd(WIRE_HEADER_BYTES + WIRE_MAX_BODY + 1, idleMs);
    } catch (e) {
      return { kind: "lost", reason: `reading the answer failed: ${why(e)}` };
    }
    if (answer.length === 0) return { kind: "lost", reason: "it closed the connection without an answer" };
    try {
      const a = decodeAnswer(answer);
      if (a.kind === "refused") return { kind: "unavailable", reason: `the service refused the request (reason ${a.reason}): ${a.message}` };
      return { kind: "answered", exitCode: a.exitCode, stdout: a.stdout, stderr: a.stderr };
    } catch (e) {
      if (e instanceof WireError && e.refusal !== REFUSAL.MALFORMED) return { kind: "lost", reason: `it answered in an unknown framing: ${e.message}` };
      return { kind: "lost", reason: `its answer was cut off or garbled (${answer.length} bytes): ${why(e)}` };
    }
  } finally {
    try {
      sock.close();
    } catch {
      // nothing left to do with it
    }
  }
}

/** The CNI error JSON (code 11) printed when the service took the request and then failed. */
export function lostRequestError(path: string, reason: string, stdin: Uint8Array): string {
  const err = new CniError(
    CNI_ERROR_CODE.TRY_AGAIN_LATER,
    `the kubenet agent's CNI service at ${q(path)} accepted the request and then failed: ${reason}; ` +
      "the request was not run a second time in-process (it may have partly run): try again",
  );
  return `${JSON.stringify(encodeError(err, peekCniVersion(stdin) ?? CURRENT_CNI_VERSION), null, 4)}\n`;
}
