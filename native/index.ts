// native/index: the only module plugin/ and agent/ import from native/. The native layer owns everything that
// talks to the kernel: rtnetlink (links, addresses, routes) through koffi, network namespaces, sysctls and
// file locks. It imports core/ and node builtins; koffi is loaded lazily by ffi/libc.ts on the first call.
// Everything here is synchronous: calls block until the kernel answered, which keeps namespace state
// deterministic (no async work ever runs while the thread is inside another namespace).

export type {
  Addr,
  AddrAddOptions,
  FileLock,
  FileLockOptions,
  Link,
  LinkAddBridgeSpec,
  LinkAddIfbSpec,
  LinkAddVethSpec,
  MirredParams,
  Qdisc,
  QdiscAddSpec,
  QdiscDelSpec,
  NetnsHandle,
  OpenRtnlOptions,
  RawAttr,
  Route,
  RouteSpec,
  Rtnl,
  SysctlOptions,
  TbfParams,
  TbfState,
  TcAction,
  TcFilter,
  U32FilterSpec,
  U32Key,
  U32State,
} from "./api.js";

export { SysError, errnoName, isErrno } from "./ffi/sys-error.js";
/** Loads koffi and binds libc now (normally lazy, on the first call): to fail early or to measure start-up. */
export { preload as preloadNative } from "./ffi/libc.js";
export { NetlinkError } from "./netlink/netlink-error.js";
export { openRtnl } from "./rtnl/rtnl.js";
export { NetnsNotFoundError, NotNetnsError, currentNetns, moveThreadToNetns, openNetns, withNetnsSync } from "./netns.js";
export { readSysctl, sysctlPath, writeSysctl } from "./sysctl.js";
export { LockTimeoutError, acquireFileLock, waitFileLock } from "./file-lock.js";
export { monotonicMs } from "./clock.js";
export { formatMac, parseMac } from "./rtnl/link.js";
export { tbfBurstTolerance, tbfLimitForLatency } from "./tc/tbf.js";
export { formatTcHandle } from "./tc/qdisc.js";
export {
  ETH_P_ALL,
  TCA_EGRESS_REDIR,
  TC_ACT_STOLEN,
  TC_H_INGRESS,
  TC_H_ROOT,
  TC_U32_TERMINAL,
  tcHandle,
} from "./tc/constants.js";

export {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_F_DADFAILED,
  IFA_F_DEPRECATED,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_F_OPTIMISTIC,
  IFA_F_PERMANENT,
  IFA_F_SECONDARY,
  IFA_F_TENTATIVE,
  IFF_BROADCAST,
  IFF_LOOPBACK,
  IFF_LOWER_UP,
  IFF_MULTICAST,
  IFF_NOARP,
  IFF_POINTOPOINT,
  IFF_PROMISC,
  IFF_RUNNING,
  IFF_UP,
  IFNAMSIZ,
  IF_OPER_DORMANT,
  IF_OPER_DOWN,
  IF_OPER_LOWERLAYERDOWN,
  IF_OPER_NOTPRESENT,
  IF_OPER_TESTING,
  IF_OPER_UNKNOWN,
  IF_OPER_UP,
  RTN_BLACKHOLE,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_PROHIBIT,
  RTN_THROW,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTN_UNSPEC,
  RTPROT_BOOT,
  RTPROT_DHCP,
  RTPROT_KERNEL,
  RTPROT_RA,
  RTPROT_REDIRECT,
  RTPROT_STATIC,
  RTPROT_UNSPEC,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_SITE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_DEFAULT,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
} from "./rtnl/constants.js";
export { peerCredentials, type PeerCredentials } from "./unix-socket.js";
export { UnixStream } from "./unix-stream.js";

// CRI (asynchronous: gRPC to the container runtime; @grpc/grpc-js loads on the first openCri()).
export { CriError, DEFAULT_CRI_ENDPOINT, GRPC_NOT_FOUND, GRPC_UNAVAILABLE, criTarget, openCri } from "./cri/client.js";
export type { CriClient, OpenCriOptions } from "./cri/client.js";
export { createTicketLockBuffer, openTicketLock, releaseTicketLockOf, type TicketLock } from "./ticket-lock.js";

// iptables: the one text codec and the one way to run the xtables tools (plugin and agent).
export type { SavedRule, SavedTable } from "./iptables/codec.js";
export {
  argOf,
  emptyTable,
  formatRule,
  formatRuleArgs,
  jumpsTo,
  parseIptablesSave,
  quoteArg,
  sameArgs,
  targetOf,
  tokenizeRule,
} from "./iptables/codec.js";
export type { IptablesMode, ToolOptions, ToolResult } from "./iptables/tools.js";
export { NO_TABLE_RE, XTABLES_LOCK_HELD_RE, iptablesCommand, restoreArgs, runTool } from "./iptables/tools.js";

// conntrack: ctnetlink deletes (host ports flush stale UDP entries after their rules land).
export type { ConntrackDeleteOptions } from "./conntrack/conntrack.js";
export { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, conntrackDeleteByDstPort } from "./conntrack/conntrack.js";
