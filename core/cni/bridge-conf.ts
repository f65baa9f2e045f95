// core/cni/bridge-conf: the bridge keys of a network configuration (type kubenet or bridge), with the
// reference bridge plugin's names and defaults, and kubenet's own defaults (cbr0, hairpin, gateway, forced
// address). Pure; errors are CniErrors 6 (wrong JSON type) and 7 (invalid value), as in netconf.

import { q } from "./errors.js";
import { decodeError, invalid, isObj, optArray, optBool, optInt, optString, optText, type Json } from "./fields.js";

export interface VlanTrunk {
  readonly id?: number | undefined;
  readonly minID?: number | undefined;
  readonly maxID?: number | undefined;
}

export interface BridgeConf {
  readonly bridge: string;
  readonly isGateway: boolean;
  readonly isDefaultGateway: boolean;
  readonly forceAddress: boolean;
  readonly ipMasq: boolean;
  readonly ipMasqBackend: "iptables" | "nftables" | undefined;
  /** 0 = kernel default. */
  readonly mtu: number;
  readonly hairpinMode: boolean;
  readonly promiscMode: boolean;
  /** 0 = no VLAN. */
  readonly vlan: number;
  readonly vlanTrunk: readonly VlanTrunk[];
  readonly preserveDefaultVlan: boolean;
  readonly macspoofchk: boolean;
  readonly enabledad: boolean;
  readonly disableContainerInterface: boolean;
  readonly portIsolation: boolean;
}

/** Checks an interface name the way the kernel and the Go lib do; returns the problem or undefined. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (Buffer.byteLength(name) > 15) return "is longer than 15 bytes";
  if (name === "." || name === "..") return "is . or ..";
  if (/[/:\s]/.test(name)) return "contains /, : or whitespace";
  return undefined;
}


/** The bridge keys of `raw`; `hasIpam` because disableContainerInterface excludes IPAM. */
export function parseBridge(raw: Json, plugin: "kubenet" | "bridge", hasIpam: boolean): BridgeConf {
  const kubenet = plugin === "kubenet";
  const b = (key: string, dflt: boolean): boolean => optBool(raw, key, "") ?? dflt;
  const bridge = optText(raw, "bridge", "", kubenet ? '"cbr0"' : '"cni0"') ?? (kubenet ? "cbr0" : "cni0");
  const problem = interfaceNameProblem(bridge);
  if (problem) throw invalid(`bridge name ${q(bridge)} ${problem}: use a Linux interface name such as "cbr0"`);
  const promiscMode = b("promiscMode", false);
  const hairpinMode = b("hairpinMode", kubenet && !promiscMode);
  if (hairpinMode && promiscMode) throw invalid(`cannot set hairpinMode and promiscMode at the same time: set one of them to false`);
  const isDefaultGateway = b("isDefaultGateway", kubenet);
  const isGateway = b("isGateway", kubenet) || isDefaultGateway;
  const mtu = optInt(raw, "mtu", "") ?? 0;
  if (mtu !== 0 && (mtu < 68 || mtu > 65535)) throw invalid(`mtu ${mtu} is out of range: use 68..65535, or 0 for the kernel default`);
  const vlan = optInt(raw, "vlan", "") ?? 0;
  if (vlan < 0 || vlan > 4094) throw invalid(`invalid VLAN ID ${vlan} (must be between 0 and 4094)`);
  const vlanTrunk = (optArray(raw, "vlanTrunk", "") ?? []).map((t, i): VlanTrunk => {
    const path = `vlanTrunk[${i}].`;
    if (!isObj(t)) throw decodeError(`vlanTrunk[${i}] must be an object like {"id":100} or {"minID":100,"maxID":200}, got ${q(t)}`);
    const id = optInt(t, "id", path);
    const minID = optInt(t, "minID", path);
    const maxID = optInt(t, "maxID", path);
    for (const [k, n] of [["id", id], ["minID", minID], ["maxID", maxID]] as const) {
      if (n !== undefined && (n < 1 || n > 4094)) throw invalid(`${path}${k} ${n} is out of range (must be between 1 and 4094)`);
    }
    if ((minID === undefined) !== (maxID === undefined)) throw invalid(`vlanTrunk[${i}]: set both minID and maxID, or id`);
    if (minID !== undefined && maxID !== undefined && minID > maxID) throw invalid(`vlanTrunk[${i}]: minID ${minID} is greater than maxID ${maxID}`);
    if (id === undefined && minID === undefined) throw invalid(`vlanTrunk[${i}] has neither id nor minID/maxID`);
    return { id, minID, maxID };
  });
  if (vlan > 0 && vlanTrunk.length > 0) throw invalid(`cannot set vlan and vlanTrunk at the same time`);
  const backend = optString(raw, "ipMasqBackend", "");
  if (backend !== undefined && backend !== "iptables" && backend !== "nftables") {
    throw invalid(`ipMasqBackend ${q(backend)} is not supported: use "iptables" or "nftables"`);
  }
  const disableContainerInterface = b("disableContainerInterface", false);
  if (disableContainerInterface && hasIpam) {
    throw invalid(`cannot use IPAM when disableContainerInterface is set: remove "ipam" or the flag`);
  }
  return {
    bridge,
    isGateway,
    isDefaultGateway,
    forceAddress: b("forceAddress", kubenet),
    ipMasq: b("ipMasq", false),
    ipMasqBackend: backend === "iptables" || backend === "nftables" ? backend : undefined,
    mtu,
    hairpinMode,
    promiscMode,
    vlan,
    vlanTrunk,
    preserveDefaultVlan: b("preserveDefaultVlan", false),
    macspoofchk: b("macspoofchk", false),
    enabledad: b("enabledad", false),
    disableContainerInterface,
    portIsolation: b("portIsolation", false),
  };
}
