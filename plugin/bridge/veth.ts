// plugin/bridge/veth: the pod's veth pair. Created from the container side, so the pod end gets CNI_IFNAME
// atomically in the pod netns (the kernel refuses a duplicate name there), and the peer is born directly in
// the host namespace under a random "veth" + 8 hex name. Imports native and core; synchronous.

import { closeSync, openSync, readSync } from "node:fs";
import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { Link } from "../../native/index.js";
import { isErrno, kernelStep, wrapKernelError, type NsHandle } from "./netns.js";

/** The container end's name is taken in the pod netns: the spec's "interface already exists" error. */
export function interfaceExistsError(ifName: string, netnsPath: string): CniError {
  return new CniError(
    CNI_ERROR_CODE.INTERFACE_EXISTS,
    `interface ${q(ifName)} already exists in the container network namespace ${q(netnsPath)}; ` +
      `was ADD repeated without DEL? (run DEL for this container first, or use another CNI_IFNAME)`,
  );
}

/**
 * "veth" + 8 random hex digits, from the kernel's CSPRNG like the reference plugin's. /dev/urandom rather than
 * node:crypto, which would cost every ADD ~2 ms of module loading for 4 bytes.
 */
function randomVethName(): string {
  const bytes = Buffer.alloc(4);
  const fd = openSync("/dev/urandom", "r");
  try {
    readSync(fd, bytes, 0, bytes.length, null);
  } finally {
    closeSync(fd);
  }
  return `veth${bytes.toString("hex")}`;
}

export interface VethOptions {
  readonly ifName: string;
  /** 0 = kernel default. */
  readonly mtu: number;
  /** MAC of the container end (runtimeConfig.mac / args.cni.mac / CNI_ARGS MAC=), or undefined = random. */
  readonly mac?: string | undefined;
}

export interface VethPair {
  /** The container end, as read in the pod netns. */
  readonly container: Link;
  /** The host end's name (random); its index is only known after re-reading it in the host namespace. */
  readonly hostName: string;
}

/**
 * Creates the pair from the container handle. EEXIST is ambiguous (either name may be taken): when the host
 * peer name is taken we draw another one (up to 10 times, as the reference); otherwise it is CNI_IFNAME.
 */
export function createVeth(container: NsHandle, host: NsHandle, opts: VethOptions): VethPair {
  const hostFd = host.fd();
  for (let attempt = 0; attempt < 10; attempt++) {
    const hostName = randomVethName();
    try {
      const link = container.rtnl.linkAddVeth({
        name: opts.ifName,
        peerName: hostName,
        peerNetnsFd: hostFd,
        ...(opts.mtu > 0 ? { mtu: opts.mtu, peerMtu: opts.mtu } : {}),
        ...(opts.mac !== undefined ? { mac: opts.mac } : {}),
      });
      return { container: link, hostName };
    } catch (err) {
      if (!isErrno(err, "EEXIST")) {
        throw wrapKernelError(`could not create the veth pair ${q(opts.ifName)} <-> ${q(hostName)}`, err);
      }
      if (host.rtnl.linkFind(hostName) !== undefined) continue;
      throw interfaceExistsError(opts.ifName, container.path ?? "");
    }
  }
  throw new CniError(
    CNI_ERROR_CODE.KERNEL_OPERATION_FAILED,
    "could not find a free host veth name after 10 attempts (every random veth name was taken)",
  );
}

export interface HostPortOptions {
  readonly bridge: Link;
  readonly hairpin: boolean;
  readonly alias: string;
}

/**
 * Wires the host end: alias, bridge port, hairpin, up. The host end is looked up by name: the index the
 * kernel reported in the pod netns means nothing here.
 */
export function attachHostVeth(host: NsHandle, hostName: string, opts: HostPortOptions): Link {
  const link = kernelStep(`could not find the host veth ${q(hostName)}`, () => host.rtnl.linkGet(hostName));
  kernelStep(`could not set the alias of ${q(hostName)}`, () => host.rtnl.linkSetAlias(link.index, opts.alias));
  kernelStep(`could not attach ${q(hostName)} to bridge ${q(opts.bridge.name)}`, () =>
    host.rtnl.linkSetMaster(link.index, opts.bridge.index),
  );
  // Always written (true or false), like the reference: a port reused from an older config gets the new value.
  kernelStep(`could not set hairpin mode on ${q(hostName)}`, () => host.rtnl.linkSetHairpin(link.index, opts.hairpin));
  host.sysctl([{ name: `net/ipv6/conf/${hostName}/accept_ra`, value: "0", optional: true }]);
  kernelStep(`could not set ${q(hostName)} up`, () => host.rtnl.linkSetUp(link.index));
  return host.rtnl.linkGetByIndex(link.index);
}

/** Host veths (kind veth) whose alias names this attachment. */
export function findHostVeths(host: NsHandle, alias: string): Link[] {
  return host.rtnl.linkList().filter((l) => l.kind === "veth" && l.alias === alias);
}

/** Deletes a link by index; "already gone" is success. */
export function deleteLinkIfPresent(ns: NsHandle, index: number, what: string): void {
  try {
    ns.rtnl.linkDel(index);
  } catch (err) {
    if (!isErrno(err, "ENODEV")) throw wrapKernelError(`could not delete ${what}`, err);
  }
}
