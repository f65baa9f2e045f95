// native/api: the public contract of the native layer (types only). `native/index.ts` exports the
// implementations; `plugin/` and `agent/` import from `native/index.ts` only, never deeper paths.
// Everything here is synchronous: koffi calls block, which keeps namespace state deterministic.

import type { IpAddr, IpFamily, IpNet } from "../core/ip.js";

/** One netlink attribute kept verbatim (type without NLA_F_NESTED/NLA_F_NET_BYTEORDER bits, raw payload). */
export interface RawAttr {
  readonly type: number;
  readonly nested: boolean;
  readonly data: Uint8Array;
}

/** A link (RTM_NEWLINK) as decoded. Unknown attributes are kept in `attrs`. */
export interface Link {
  readonly index: number;
  readonly name: string;
  /** IFLA_INFO_KIND: "bridge", "veth", ... ; undefined for e.g. loopback or physical devices. */
  readonly kind: string | undefined;
  readonly flags: number; // IFF_* from ifinfomsg
  readonly up: boolean; // IFF_UP
  readonly mtu: number;
  readonly mac: string; // "aa:bb:cc:dd:ee:ff" (lower case), "" when the link has none
  readonly master: number | undefined; // IFLA_MASTER ifindex
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace). */
  readonly parentIndex: number | undefined;
  /** IFLA_LINK_NETNSID: set when the peer/parent lives in another namespace. */
  readonly linkNetnsId: number | undefined;
  readonly operstate: number | undefined; // IFLA_OPERSTATE (IF_OPER_UP = 6)
  readonly promisc: boolean; // IFF_PROMISC
  /** Bridge ports only: IFLA_BRPORT_MODE (hairpin) read from IFLA_PROTINFO / IFLA_INFO_SLAVE_DATA. */
  readonly hairpin: boolean | undefined;
  /** IFLA_IFALIAS (`ip link set dev X alias TEXT`); undefined when the link has none. */
  readonly alias?: string | undefined;
  readonly attrs: readonly RawAttr[];
}

export interface LinkAddBridgeSpec {
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
}

export interface LinkAddVethSpec {
  /** Name of the end created in the handle's namespace. */
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
  /** Name of the peer end, created directly under its final name. */
  readonly peerName: string;
  readonly peerMtu?: number;
  readonly peerMac?: string;
  /** Open netns fd in which the peer is created (IFLA_NET_NS_FD); omitted = same namespace. */
  readonly peerNetnsFd?: number;
}

/** An address (RTM_NEWADDR). `address` is IFA_LOCAL (v4) / IFA_ADDRESS (v6) with the prefix length. */
export interface Addr {
  readonly index: number;
  readonly family: IpFamily;
  readonly address: IpNet;
  readonly scope: number;
  readonly flags: number; // IFA_FLAGS (32 bit) when present, else ifa_flags
  readonly label: string | undefined;
  readonly attrs: readonly RawAttr[];
}

export interface AddrAddOptions {
  /** Broadcast address (v4); the default computes it from the prefix, as `ip addr add ... brd +` does. */
  readonly broadcast?: IpAddr | "none";
  readonly scope?: number;
  /** IFA_F_NODAD etc. */
  readonly flags?: number;
}

/** A route (RTM_NEWROUTE). `dst` undefined = default route. */
export interface Route {
  readonly family: IpFamily;
  readonly dst: IpNet | undefined;
  readonly gateway: IpAddr | undefined;
  readonly oif: number | undefined;
  readonly src: IpAddr | undefined;
  readonly table: number; // RT_TABLE_MAIN = 254
  readonly protocol: number; // RTPROT_*
  readonly scope: number; // RT_SCOPE_*
  readonly type: number; // RTN_UNICAST = 1 ...
  readonly priority: number | undefined; // RTA_PRIORITY (metric)
  readonly mtu: number | undefined; // RTAX_MTU inside RTA_METRICS
  readonly advmss: number | undefined; // RTAX_ADVMSS inside RTA_METRICS
  readonly attrs: readonly RawAttr[];
}

export interface RouteSpec {
  readonly family?: IpFamily; // required when dst is undefined and gateway is undefined
  readonly dst?: IpNet; // undefined = default route
  readonly gateway?: IpAddr;
  readonly oif?: number;
  readonly src?: IpAddr;
  readonly table?: number; // default RT_TABLE_MAIN
  readonly protocol?: number; // default RTPROT_BOOT (as `ip route add`)
  readonly scope?: number; // default: RT_SCOPE_UNIVERSE with a gateway, RT_SCOPE_LINK without
  readonly type?: number; // default RTN_UNICAST
  readonly priority?: number;
  readonly mtu?: number;
  readonly advmss?: number;
}

/**
 * A NETLINK_ROUTE socket bound to one network namespace: the namespace's handle. Every operation is one
 * request, acknowledged before it returns; failures throw `NetlinkError` (errno name + kernel extack text).
 */
export interface Rtnl {
  /** The netns path this handle was opened in, or undefined for the caller's own namespace. */
  readonly netnsPath: string | undefined;
  close(): void;

  linkList(): Link[]; // ip link show
  linkGet(name: string): Link; // throws NetlinkError ENODEV when missing
  linkFind(name: string): Link | undefined;
  linkGetByIndex(index: number): Link; // throws NetlinkError ENODEV when missing
  linkFindByIndex(index: number): Link | undefined;
  linkAddBridge(spec: LinkAddBridgeSpec): Link; // ip link add NAME type bridge [mtu M] [address MAC]
  linkAddVeth(spec: LinkAddVethSpec): Link; // ip link add NAME type veth peer name P netns FD
  linkSetUp(index: number): void; // ip link set dev X up
  linkSetDown(index: number): void; // ip link set dev X down
  linkSetMaster(index: number, masterIndex: number): void; // ip link set dev X master M (0 = nomaster)
  linkSetMtu(index: number, mtu: number): void; // ip link set dev X mtu M
  linkSetName(index: number, name: string): void; // ip link set dev X name N
  linkSetAlias(index: number, alias: string): void; // ip link set dev X alias TEXT ("" removes it)
  linkSetMac(index: number, mac: string): void; // ip link set dev X address MAC
  linkSetPromisc(index: number, on: boolean): void; // ip link set dev X promisc on|off
  linkSetHairpin(index: number, on: boolean): void; // bridge link set dev X hairpin on|off
  linkSetNetns(index: number, netnsFd: number): void; // ip link set dev X netns FD
  linkDel(index: number): void; // ip link del dev X (ENODEV when missing)

  addrList(filter?: { index?: number; family?: IpFamily }): Addr[]; // ip addr show
  addrAdd(index: number, address: IpNet, options?: AddrAddOptions): void; // ip addr add A/P dev X (EEXIST when present)
  addrReplace(index: number, address: IpNet, options?: AddrAddOptions): void; // ip addr replace
  addrDel(index: number, address: IpNet): void; // ip addr del A/P dev X (EADDRNOTAVAIL when missing)

  routeList(filter?: { family?: IpFamily; table?: number; oif?: number }): Route[]; // ip route show
  routeAdd(route: RouteSpec): void; // ip route add (EEXIST when present)
  routeReplace(route: RouteSpec): void; // ip route replace
  routeDel(route: RouteSpec): void; // ip route del (ESRCH when missing; IPv6 without any route for the prefix: ENOENT)

  linkAddIfb(spec: LinkAddIfbSpec): Link; // ip link add NAME [mtu M] [up] type ifb
  qdiscAdd(index: number, spec: QdiscAddSpec): void; // tc qdisc add dev X root handle 1: tbf ... | handle ffff: ingress (EEXIST)
  qdiscDel(index: number, spec: QdiscDelSpec): void; // tc qdisc del dev X root|ingress (ENOENT/EINVAL when missing)
  qdiscList(index?: number): Qdisc[]; // tc qdisc show [dev X]
  filterAdd(index: number, spec: U32FilterSpec): void; // tc filter add dev X parent P protocol all prio N u32 ... action mirred ...
  filterDel(index: number, spec: { parent: number; priority: number; protocol: number }): void; // tc filter del dev X parent P prio N protocol ...
  filterList(index: number, parent: number): TcFilter[]; // tc filter show dev X parent P
}

/** A token bucket filter as asked: bytes per second, bucket size in bytes, queue limit in bytes. */
export interface TbfParams {
  readonly rate: number;
  readonly burst: number;
  readonly limit: number;
}

/** A TBF as the kernel reports it. `burst` is derived from `buffer` (ticks of 64 ns) and the rate. */
export interface TbfState {
  readonly rate: number;
  readonly limit: number;
  /** The bucket as time, in psched ticks (tc_tbf_qopt.buffer). */
  readonly buffer: number;
  /** The bucket in bytes: buffer time x rate, exact to one tick's worth of bytes (tbfBurstTolerance). */
  readonly burst: number;
  readonly mtu: number;
  readonly peakrate: number;
}

/** What `qdiscAdd` creates: a TBF at `parent` with `handle` (tc's "root handle 1:"), or the ingress qdisc (ffff:). */
export type QdiscAddSpec =
  | { readonly kind: "tbf"; readonly parent: number; readonly handle: number; readonly tbf: TbfParams }
  | { readonly kind: "ingress" };

/** Which qdisc `qdiscDel` removes: tc's "root" is parent TC_H_ROOT; "ingress" is parent TC_H_INGRESS, handle ffff:. */
export interface QdiscDelSpec {
  readonly parent: number;
  readonly handle?: number;
  readonly kind?: string;
}

/** A qdisc (RTM_NEWQDISC) as decoded; `tbf` is set for kind "tbf". Unknown attributes stay in `attrs`. */
export interface Qdisc {
  readonly index: number;
  readonly kind: string;
  readonly handle: number;
  readonly parent: number;
  readonly tbf: TbfState | undefined;
  readonly attrs: readonly RawAttr[];
}

/** struct tc_u32_key: mask and value (host numbers, sent in network byte order), offset in the packet. */
export interface U32Key {
  readonly mask: number;
  readonly value: number;
  readonly off: number;
  readonly offmask: number;
}

/** struct tc_mirred: `action` TC_ACT_*, `eaction` TCA_EGRESS_REDIR..., target ifindex. */
export interface MirredParams {
  readonly action: number;
  readonly eaction: number;
  readonly ifindex: number;
}

export interface TcAction {
  readonly kind: string;
  readonly mirred: MirredParams | undefined;
}

export interface U32State {
  /** TC_U32_TERMINAL etc.; undefined on the hash-table entries the kernel dumps too. */
  readonly selFlags: number | undefined;
  readonly keys: readonly U32Key[];
  readonly classId: number | undefined;
  /** Set on hash-table entries (no selector): their bucket count. */
  readonly divisor: number | undefined;
  readonly actions: readonly TcAction[];
}

/**
 * What `filterAdd` creates: a u32 filter at `parent` (e.g. ffff:) for `protocol` (ETH_P_ALL...) at
 * `priority`, matching `keys` (default: one all-zero key = every packet), class `classId`, with one
 * mirred action (tc's "action mirred egress redirect dev X" = eaction TCA_EGRESS_REDIR, action TC_ACT_STOLEN).
 */
export interface U32FilterSpec {
  readonly parent: number;
  readonly priority: number;
  readonly protocol: number;
  readonly classId: number;
  readonly keys?: readonly U32Key[];
  readonly mirred: MirredParams;
}

/** A filter (RTM_NEWTFILTER) as decoded; `u32` is set for kind "u32". */
export interface TcFilter {
  readonly index: number;
  readonly kind: string;
  readonly parent: number;
  readonly handle: number;
  readonly priority: number;
  /** ETH_P_* in host order. */
  readonly protocol: number;
  readonly u32: U32State | undefined;
  readonly attrs: readonly RawAttr[];
}

export interface LinkAddIfbSpec {
  readonly name: string;
  readonly mtu?: number;
  /** Created up (ifi_flags IFF_UP), in the same request. */
  readonly up?: boolean;
}

/** An open network namespace: pass `fd` to IFLA_NET_NS_FD (LinkAddVethSpec.peerNetnsFd, linkSetNetns). */
export interface NetnsHandle {
  readonly fd: number;
  /** The path it was opened from ("/run/netns/x", "/proc/123/ns/net", "/proc/thread-self/ns/net"). */
  readonly path: string;
  /** The namespace's nsfs inode: two handles with the same inode (and dev) are the same namespace. */
  readonly inode: number;
  readonly dev: number;
  close(): void;
}

/** Options of `openRtnl`. */
export interface OpenRtnlOptions {
  /** Open the socket inside this network namespace (e.g. CNI_NETNS); default: the caller's own. */
  readonly netnsPath?: string;
  /** Receive timeout for every kernel answer (default 10000 ms); a timeout throws NetlinkError ETIMEDOUT. */
  readonly timeoutMs?: number;
}

export interface SysctlOptions {
  /** Read/write the parameter of this network namespace (net.* parameters are per namespace). */
  readonly netnsPath?: string | NetnsHandle;
}

export interface FileLockOptions {
  /** How long to wait for a lock held elsewhere; 0 = try once. */
  readonly timeoutMs: number;
  /** Mode of the lock file if it has to be created (default 0o600; host-local's `lock` is 0o750). */
  readonly mode?: number;
  /** LOCK_SH instead of LOCK_EX. */
  readonly shared?: boolean;
}

export interface FileLock {
  readonly path: string;
  readonly fd: number;
  readonly released: boolean;
  /** Unlocks and closes; calling it again does nothing. */
  release(): void;
}
