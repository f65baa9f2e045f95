// native/rtnl/constants: rtnetlink constants with their kernel names (linux/rtnetlink.h, if_link.h,
// if_addr.h, veth.h, if.h), values as on Linux. Plain `const`s, no enum, so they inline and tree-shake.
// Pure; imports nothing.

export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_QDISC = 6;
export const IFLA_STATS = 7;
export const IFLA_MASTER = 10;
export const IFLA_PROTINFO = 12;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_IFALIAS = 20;
export const IFLA_GROUP = 27;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_PROMISCUITY = 30;
export const IFLA_NUM_TX_QUEUES = 31;
export const IFLA_NUM_RX_QUEUES = 32;
export const IFLA_CARRIER = 33;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_STATS64 = 23;
export const IFLA_AF_SPEC = 26;
export const IFLA_NEW_NETNSID = 45;
export const IFLA_TARGET_NETNSID = 46;
export const IFLA_NEW_IFINDEX = 49;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;
export const IFLA_PROP_LIST = 52;
export const IFLA_ALT_IFNAME = 53;
export const IFLA_PERM_ADDRESS = 54;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_XSTATS = 3;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;
export const VETH_INFO_PEER = 1;
export const IFLA_BRPORT_STATE = 1;
export const IFLA_BRPORT_MODE = 4;
export const IFLA_BRPORT_LEARNING = 8;
export const IFLA_BRPORT_ISOLATED = 33;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_ANYCAST = 5;
export const IFA_CACHEINFO = 6;
export const IFA_MULTICAST = 7;
export const IFA_FLAGS = 8;
export const IFA_RT_PRIORITY = 9;
export const IFA_TARGET_NETNSID = 10;
export const IFA_PROTO = 11;
export const IFA_F_SECONDARY = 1;
export const IFA_F_NODAD = 2;
export const IFA_F_OPTIMISTIC = 4;
export const IFA_F_DADFAILED = 8;
export const IFA_F_HOMEADDRESS = 16;
export const IFA_F_DEPRECATED = 32;
export const IFA_F_TENTATIVE = 64;
export const IFA_F_PERMANENT = 128;
export const IFA_F_MANAGETEMPADDR = 256;
export const IFA_F_NOPREFIXROUTE = 512;
export const IFA_F_MCAUTOJOIN = 1024;
export const IFA_F_STABLE_PRIVACY = 2048;
export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_IIF = 3;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_MULTIPATH = 9;
export const RTA_FLOW = 11;
export const RTA_CACHEINFO = 12;
export const RTA_TABLE = 15;
export const RTA_MARK = 16;
export const RTA_PREF = 20;
export const RTA_VIA = 18;
export const RTA_EXPIRES = 23;
export const RTAX_LOCK = 1;
export const RTAX_MTU = 2;
export const RTAX_WINDOW = 3;
export const RTAX_ADVMSS = 8;
export const RTAX_HOPLIMIT = 10;
export const RTAX_INITCWND = 11;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_COMPAT = 252;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
export const RTPROT_UNSPEC = 0;
export const RTPROT_REDIRECT = 1;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RTPROT_RA = 9;
export const RTPROT_DHCP = 16;
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const RTN_THROW = 9;
export const RTN_NAT = 10;
export const IFF_UP = 1;
export const IFF_BROADCAST = 2;
export const IFF_DEBUG = 4;
export const IFF_LOOPBACK = 8;
export const IFF_POINTOPOINT = 16;
export const IFF_NOTRAILERS = 32;
export const IFF_RUNNING = 64;
export const IFF_NOARP = 128;
export const IFF_PROMISC = 256;
export const IFF_ALLMULTI = 512;
export const IFF_MASTER = 1024;
export const IFF_SLAVE = 2048;
export const IFF_MULTICAST = 4096;
export const IFF_LOWER_UP = 65536;
export const IFF_DORMANT = 131072;
export const IFF_ECHO = 262144;
export const IF_OPER_UNKNOWN = 0;
export const IF_OPER_NOTPRESENT = 1;
export const IF_OPER_DOWN = 2;
export const IF_OPER_LOWERLAYERDOWN = 3;
export const IF_OPER_TESTING = 4;
export const IF_OPER_DORMANT = 5;
export const IF_OPER_UP = 6;
export const RTEXT_FILTER_VF = 1;
export const RTEXT_FILTER_SKIP_STATS = 8;
export const AF_BRIDGE = 7;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_UNSPEC = 0;
export const BR_STATE_FORWARDING = 3;
export const RTM_BASE = 16;
export const IFNAMSIZ = 16;
export const ETH_ALEN = 6;

/** struct sizes */
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;

const RTM_TYPE_NAMES: Readonly<Record<number, string>> = {
  [RTM_NEWLINK]: "RTM_NEWLINK",
  [RTM_DELLINK]: "RTM_DELLINK",
  [RTM_GETLINK]: "RTM_GETLINK",
  [RTM_SETLINK]: "RTM_SETLINK",
  [RTM_NEWADDR]: "RTM_NEWADDR",
  [RTM_DELADDR]: "RTM_DELADDR",
  [RTM_GETADDR]: "RTM_GETADDR",
  [RTM_NEWROUTE]: "RTM_NEWROUTE",
  [RTM_DELROUTE]: "RTM_DELROUTE",
  [RTM_GETROUTE]: "RTM_GETROUTE",
  36: "RTM_NEWQDISC",
  37: "RTM_DELQDISC",
  38: "RTM_GETQDISC",
  44: "RTM_NEWTFILTER",
  45: "RTM_DELTFILTER",
  46: "RTM_GETTFILTER",
};

/** "RTM_NEWLINK" for 16; "RTM_<n>" for types we never send. */
export function rtmTypeName(type: number): string {
  return RTM_TYPE_NAMES[type] ?? `RTM_${type}`;
}
