// plugin/types: the seams inside the plugin: what skel hands a command (PluginRequest + PluginContext)
// and what a plugin implements (PluginCommands). Types only; imports core and native/index types only.

import type { Attachment, NetConf } from "../core/cni/netconf.js";
import type { FileLock, FileLockOptions } from "../native/index.js";
import type { Result } from "../core/cni/result.js";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | "VERSION";

interface AttachmentRequest {
  readonly containerId: string;
  readonly ifName: string;
  /** CNI_ARGS, parsed ("K=V;..."). */
  readonly cniArgs: ReadonlyMap<string, string>;
  /** CNI_PATH split on ":" (empty entries dropped). */
  readonly cniPath: readonly string[];
  readonly conf: NetConf;
}

export type AddRequest = AttachmentRequest & { readonly command: "ADD"; readonly netns: string };
/** DEL: CNI_NETNS may be empty/absent (the netns can be gone); undefined then. */
export type DelRequest = AttachmentRequest & { readonly command: "DEL"; readonly netns: string | undefined };
/** CHECK: conf.prevResult is required (skel does not enforce it; the command reports it). */
export type CheckRequest = AttachmentRequest & { readonly command: "CHECK"; readonly netns: string };
export interface GcRequest {
  readonly command: "GC";
  readonly cniPath: readonly string[];
  readonly conf: NetConf;
  readonly validAttachments: readonly Attachment[];
}
export interface StatusRequest {
  readonly command: "STATUS";
  readonly cniPath: readonly string[];
  readonly conf: NetConf;
}

export type PluginRequest = AddRequest | DelRequest | CheckRequest | GcRequest | StatusRequest;

export interface Logger {
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface PluginContext {
  /** Logs to stderr and, when conf.logFile is set, appended there too. Never stdout. */
  readonly log: Logger;
  /** The plugin's own netns (for tests run in a throwaway "host" namespace); undefined = current. */
  readonly hostNetnsPath?: string | undefined;
  /** The process environment, for exec'ing delegated plugins with the same env. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The exact stdin bytes, for exec'ing delegated plugins with the same stdin. */
  readonly stdinBytes: Buffer;
  /**
   * Takes the lease directory's lock (default: flock alone). The agent's CNI service queues its threads
   * first come, first served in-process and then takes the same flock.
   */
  readonly leaseLocker?: ((path: string, options: FileLockOptions) => FileLock | Promise<FileLock>) | undefined;
}

type MaybePromise<T> = T | Promise<T>;

export interface PluginCommands {
  add(req: AddRequest, ctx: PluginContext): MaybePromise<Result>;
  del(req: DelRequest, ctx: PluginContext): MaybePromise<void>;
  check(req: CheckRequest, ctx: PluginContext): MaybePromise<void>;
  gc(req: GcRequest, ctx: PluginContext): MaybePromise<void>;
  status(req: StatusRequest, ctx: PluginContext): MaybePromise<void>;
}
