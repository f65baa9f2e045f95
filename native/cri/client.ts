// native/cri/client: a small CRI v1 RuntimeService client (the calls kubelet makes for pod sandboxes) over
// @grpc/grpc-js with our own message codec (core/cri/messages). grpc-js is imported on the first openCri(), so
// code that only links this module (the plugin's CNI commands) never loads it. Asynchronous, unlike the rest
// of native/: a call is network I/O to the runtime and never runs inside another namespace.

import type * as Grpc from "@grpc/grpc-js";
import {
  CRI_SERVICE,
  decodeListPodSandboxResponse,
  decodePodSandboxStatusResponse,
  decodeRunPodSandboxResponse,
  decodeVersionResponse,
  encodeListPodSandboxRequest,
  encodePodSandboxStatusRequest,
  encodeRunPodSandboxRequest,
  encodeSandboxIdRequest,
  encodeVersionRequest,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxStatus,
  type VersionResponse,
} from "../../core/cri/messages.js";

/** containerd's CRI socket: what kubelet's --container-runtime-endpoint usually says. */
export const DEFAULT_CRI_ENDPOINT = "unix:///run/containerd/containerd.sock";

// gRPC status codes we act on (grpc/doc/statuscodes.md).
export const GRPC_NOT_FOUND = 5;
export const GRPC_UNAVAILABLE = 14;

/** A failed CRI call: the gRPC status code and the runtime's message. */
export class CriError extends Error {
  override readonly name = "CriError";
  readonly method: string;
  readonly code: number;
  readonly details: string;
  constructor(method: string, code: number, details: string) {
    super(`CRI ${method} failed (gRPC status ${code}): ${details}`);
    this.method = method;
    this.code = code;
    this.details = details;
  }
}

export interface CriClient {
  readonly endpoint: string;
  version(): Promise<VersionResponse>;
  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string>;
  stopPodSandbox(id: string): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
  /** All sandboxes the runtime knows (any state), or the one with this id. */
  listPodSandbox(id?: string): Promise<PodSandbox[]>;
  /** undefined when the runtime does not know the sandbox (NOT_FOUND). */
  podSandboxStatus(id: string, verbose?: boolean): Promise<PodSandboxStatus | undefined>;
  close(): void;
}

export interface OpenCriOptions {
  /** Per-call deadline; a runtime that does not answer in time fails the call with DEADLINE_EXCEEDED. */
  readonly timeoutMs?: number;
}

/** "unix:///run/x.sock", "unix:/run/x.sock" or a bare path (kubelet accepts both spellings) -> a grpc target. */
export function criTarget(endpoint: string): string {
  if (endpoint.startsWith("/")) return `unix://${endpoint}`;
  if (/^unix:\/?[^/]/.test(endpoint)) return `unix:///${endpoint.replace(/^unix:\/?/, "")}`;
  return endpoint;
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export async function openCri(endpoint: string, options: OpenCriOptions = {}): Promise<CriClient> {
  const grpc: typeof Grpc = await import("@grpc/grpc-js");
  const timeoutMs = options.timeoutMs ?? 10_000;
  const client = new grpc.Client(criTarget(endpoint), grpc.credentials.createInsecure(), {
    // A CRI listing of a busy node can be large; containerd's own limit is 16 MiB.
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
  });

  const call = <T>(method: string, request: Uint8Array, decode: (b: Uint8Array) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      client.makeUnaryRequest<Uint8Array, T>(
        `/${CRI_SERVICE}/${method}`,
        asBuffer,
        (b: Buffer) => decode(b),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, value) => {
          if (err !== null) reject(new CriError(method, err.code, err.details || err.message));
          else resolve(value as T);
        },
      );
    });

  return {
    endpoint,
    version: () => call("Version", encodeVersionRequest(), decodeVersionResponse),
    runPodSandbox: (config, handler) => call("RunPodSandbox", encodeRunPodSandboxRequest(config, handler), decodeRunPodSandboxResponse),
    stopPodSandbox: async (id) => {
      await call("StopPodSandbox", encodeSandboxIdRequest(id), () => undefined);
    },
    removePodSandbox: async (id) => {
      await call("RemovePodSandbox", encodeSandboxIdRequest(id), () => undefined);
    },
    listPodSandbox: (id) => call("ListPodSandbox", encodeListPodSandboxRequest(id), decodeListPodSandboxResponse),
    podSandboxStatus: async (id, verbose) => {
      try {
        return await call("PodSandboxStatus", encodePodSandboxStatusRequest(id, verbose), decodePodSandboxStatusResponse);
      } catch (e) {
        if (e instanceof CriError && e.code === GRPC_NOT_FOUND) return undefined;
        throw e;
      }
    },
    close: () => client.close(),
  };
}
