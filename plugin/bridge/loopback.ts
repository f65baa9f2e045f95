// plugin/bridge/loopback: the reference `loopback` plugin as a drop-in (containerd calls it for every pod
// with ifname "lo" unless use_internal_loopback is set). Imports core and native (through netns.ts);
// synchronous. CNI_IFNAME is ignored: this only ever works on `lo`.

import { CNI_ERROR_CODE, CniError, q } from "../../core/cni/errors.js";
import type { IpConfig, Result } from "../../core/cni/result.js";
import { formatCidr, type IpAddr } from "../../core/ip.js";
import type { AddRequest, CheckRequest, DelRequest } from "../types.js";
import { findContainerNs, getContainerNs, isErrno, kernelStep, wrapKernelError, type NsHandle } from "./netns.js";

/** 127.0.0.0/8 or ::1 (Go's IP.IsLoopback). */
const isLoopback = (a: IpAddr): boolean => (a.family === 4 ? a.value >> 24n === 127n : a.value === 1n);

function withNs<T>(ns: NsHandle, fn: (ns: NsHandle) => T): T {
  try {
    return fn(ns);
  } finally {
    ns.close();
  }
}

/** ADD: `lo` up; prevResult passes through untouched, else lo with its first IPv4 and IPv6 address. */
export function loopbackAdd(req: AddRequest): Result {
  return withNs(getContainerNs(req.netns), (ns) => {
    const lo = kernelStep(`could not find "lo" in ${q(req.netns)}`, () => ns.rtnl.linkGet("lo"));
    kernelStep(`could not set "lo" up in ${q(req.netns)}`, () => ns.rtnl.linkSetUp(lo.index));
    const addrs = ns.rtnl.addrList({ index: lo.index });
    const foreign = addrs.find((a) => !isLoopback(a.address.addr));
    if (foreign !== undefined) {
      throw new CniError(
        CNI_ERROR_CODE.INVALID_NETWORK_CONFIG,
        `loopback interface found with non-loopback address ${formatCidr(foreign.address)} in ${q(req.netns)}`,
      );
    }
    if (req.conf.prevResult !== undefined) return req.conf.prevResult;
    const ips: IpConfig[] = [];
    for (const family of [4, 6] as const) {
      const a = addrs.find((x) => x.family === family);
      if (a !== undefined) ips.push({ address: a.address, interface: 0 });
    }
    return {
      interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: req.netns }],
      ips,
      routes: [],
      dns: {},
    };
  });
}

/** DEL: `lo` down; an empty or vanished netns is success (containerd/cri#948). */
export function loopbackDel(req: DelRequest): void {
  if (req.netns === undefined || req.netns === "") return;
  const ns = findContainerNs(req.netns);
  if (ns === undefined) return;
  withNs(ns, () => {
    const lo = ns.rtnl.linkFind("lo");
    if (lo === undefined || !lo.up) return;
    try {
      ns.rtnl.linkSetDown(lo.index);
    } catch (err) {
      if (!isErrno(err, "ENODEV")) throw wrapKernelError(`could not set "lo" down in ${q(req.netns)}`, err);
    }
  });
}

/** CHECK: `lo` must be up. */
export function loopbackCheck(req: CheckRequest): void {
  withNs(getContainerNs(req.netns), (ns) => {
    const lo = ns.rtnl.linkFind("lo");
    if (lo === undefined || !lo.up) {
      throw new CniError(CNI_ERROR_CODE.CHECK_MISMATCH, `loopback interface is down in ${q(req.netns)}`);
    }
  });
}
