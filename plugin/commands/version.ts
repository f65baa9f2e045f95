// plugin/commands/version: the VERSION command's answer. Pure.
// Like the Go lib, `cniVersion` is the newest version we implement (runtimes read only supportedVersions),
// and stdin is not read, so a person can run `CNI_COMMAND=VERSION kubenet` at a terminal.

import { CURRENT_CNI_VERSION, SUPPORTED_CNI_VERSIONS } from "../../core/cni/version.js";

export interface VersionInfo {
  readonly cniVersion: string;
  readonly supportedVersions: readonly string[];
}

export function versionInfo(): VersionInfo {
  return { cniVersion: CURRENT_CNI_VERSION, supportedVersions: SUPPORTED_CNI_VERSIONS };
}
