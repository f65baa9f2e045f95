// core/cri/messages: the CRI v1 (runtime.v1.RuntimeService) messages kubenet-ts uses, as readonly types with
// encode/decode pairs on core/cri/wire. Only the fields we send or read are here; field numbers are those
// of kubernetes/cri-api pkg/apis/runtime/v1/api.proto (stable: protobuf never renumbers). Pure; no I/O.

import { ProtoReader, ProtoWriter } from "./wire.js";

export const CRI_SERVICE = "runtime.v1.RuntimeService";

// enum PodSandboxState
const SANDBOX_READY = 0;
// enum NamespaceMode
export const NAMESPACE_MODE_POD = 0;
export const NAMESPACE_MODE_CONTAINER = 1;
// enum Protocol (SCTP = 2 is never sent)
export const PROTOCOL_TCP = 0;
export const PROTOCOL_UDP = 1;

export type SandboxState = "ready" | "notready";

export interface PodSandboxMetadata {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly attempt?: number;
}

export interface PortMapping {
  readonly protocol?: number;
  readonly containerPort: number;
  readonly hostPort?: number;
  readonly hostIp?: string;
}

/** PodSandboxConfig as kubelet fills it for a pod network sandbox (the fields that matter to networking). */
export interface PodSandboxConfig {
  readonly metadata: PodSandboxMetadata;
  readonly hostname?: string;
  readonly logDirectory?: string;
  readonly dnsServers?: readonly string[];
  readonly portMappings?: readonly PortMapping[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly linux?: {
    readonly cgroupParent?: string;
    /** NamespaceOption.network; kubelet sends POD for pod-network pods, NODE for hostNetwork. */
    readonly networkMode?: number;
    readonly pidMode?: number;
    readonly ipcMode?: number;
    readonly sysctls?: Readonly<Record<string, string>>;
  };
}

export interface PodSandbox {
  readonly id: string;
  readonly metadata: PodSandboxMetadata;
  readonly state: SandboxState;
  /** Unix nanoseconds. */
  readonly createdAt: bigint;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PodSandboxStatus extends PodSandbox {
  /** The pod's IPs as the runtime reports them (primary first). */
  readonly ips: readonly string[];
  /** PodSandboxStatusResponse.info: runtime-specific details, only when asked verbose (containerd: "info" JSON). */
  readonly info: Readonly<Record<string, string>>;
}

export interface VersionResponse {
  readonly version: string;
  readonly runtimeName: string;
  readonly runtimeVersion: string;
  readonly runtimeApiVersion: string;
}

function writeMetadata(w: ProtoWriter, m: PodSandboxMetadata): void {
  w.string(1, m.name).string(2, m.uid).string(3, m.namespace).int(4, m.attempt);
}

function readMetadata(r: ProtoReader | undefined): PodSandboxMetadata {
  return { name: r?.string(1) ?? "", uid: r?.string(2) ?? "", namespace: r?.string(3) ?? "", attempt: r?.int(4) ?? 0 };
}

function readState(value: number): SandboxState {
  return value === SANDBOX_READY ? "ready" : "notready";
}

export function encodeRunPodSandboxRequest(config: PodSandboxConfig, runtimeHandler?: string): Uint8Array {
  const linux = config.linux;
  return new ProtoWriter()
    .message(1, (c) => {
      c.message(1, (m) => writeMetadata(m, config.metadata))
        .string(2, config.hostname)
        .string(3, config.logDirectory);
      if (config.dnsServers !== undefined) c.message(4, (d) => config.dnsServers?.forEach((s) => d.string(1, s)));
      for (const p of config.portMappings ?? []) {
        c.message(5, (pm) => pm.int(1, p.protocol).int(2, p.containerPort).int(3, p.hostPort).string(4, p.hostIp));
      }
      c.map(6, config.labels).map(7, config.annotations);
      if (linux !== undefined) {
        c.message(8, (l) => {
          l.string(1, linux.cgroupParent)
            // LinuxSandboxSecurityContext.namespace_options: network = 1, pid = 2, ipc = 3.
            .message(2, (sc) => sc.message(1, (ns) => ns.int(1, linux.networkMode).int(2, linux.pidMode).int(3, linux.ipcMode)))
            .map(3, linux.sysctls);
        });
      }
    })
    .string(2, runtimeHandler)
    .finish();
}

/** RunPodSandboxResponse.pod_sandbox_id. */
export const decodeRunPodSandboxResponse = (buf: Uint8Array): string => new ProtoReader(buf).string(1);

/** StopPodSandboxRequest, RemovePodSandboxRequest: pod_sandbox_id = 1. */
export const encodeSandboxIdRequest = (id: string): Uint8Array => new ProtoWriter().string(1, id).finish();

export const encodePodSandboxStatusRequest = (id: string, verbose = false): Uint8Array =>
  new ProtoWriter().string(1, id).bool(2, verbose).finish();

/** ListPodSandboxRequest: an optional filter by id (PodSandboxFilter.id = 1). */
export const encodeListPodSandboxRequest = (id?: string): Uint8Array =>
  new ProtoWriter().message(1, id === undefined ? undefined : (f) => f.string(1, id)).finish();

export function decodeListPodSandboxResponse(buf: Uint8Array): PodSandbox[] {
  return new ProtoReader(buf).repeatedMessages(1).map((p) => ({
    id: p.string(1),
    metadata: readMetadata(p.message(2)),
    state: readState(p.int(3)),
    createdAt: p.bigint(4),
    labels: p.map(5),
  }));
}

/** PodSandboxStatusResponse.status; undefined when the runtime sent none. */
export function decodePodSandboxStatusResponse(buf: Uint8Array): PodSandboxStatus | undefined {
  const response = new ProtoReader(buf);
  const s = response.message(1);
  if (s === undefined) return undefined;
  const net = s.message(5);
  const ips = net === undefined ? [] : [net.string(1), ...net.repeatedMessages(2).map((ip) => ip.string(1))].filter((ip) => ip !== "");
  return {
    id: s.string(1),
    metadata: readMetadata(s.message(2)),
    state: readState(s.int(3)),
    createdAt: s.bigint(4),
    labels: s.map(7),
    ips,
    info: response.map(2),
  };
}

export const encodeVersionRequest = (): Uint8Array => new ProtoWriter().string(1, "v1").finish();

export function decodeVersionResponse(buf: Uint8Array): VersionResponse {
  const r = new ProtoReader(buf);
  return { version: r.string(1), runtimeName: r.string(2), runtimeVersion: r.string(3), runtimeApiVersion: r.string(4) };
}
