// native/tc/constants: traffic-control constants with their kernel names (linux/rtnetlink.h, pkt_sched.h,
// pkt_cls.h, tc_act/tc_mirred.h, if_ether.h), values as on Linux. Plain `const`s, no enum.
// Pure; imports nothing.

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;
export const RTM_GETTFILTER = 46;

/** struct tcmsg: family u8, 3 pad bytes, ifindex s32, handle u32, parent u32, info u32. */
export const TCMSG_LEN = 20;

export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;
export const TCA_STATS = 3;
export const TCA_XSTATS = 4;
export const TCA_RATE = 5;
export const TCA_FCNT = 6;
export const TCA_STATS2 = 7;
export const TCA_STAB = 8;
export const TCA_CHAIN = 11;

export const TC_H_UNSPEC = 0;
export const TC_H_ROOT = 0xffffffff;
/** Parent of the ingress (and clsact) qdisc. */
export const TC_H_INGRESS = 0xfffffff1;
export const TC_H_MAJ_MASK = 0xffff0000;
export const TC_H_MIN_MASK = 0x0000ffff;

/** Major:minor handle, as `tc` writes "1:" (TC_H_MAKE(1 << 16, 0)) or "1:1". */
export const tcHandle = (major: number, minor: number): number => (((major & 0xffff) << 16) | (minor & 0xffff)) >>> 0;

export const TCA_TBF_PARMS = 1;
export const TCA_TBF_RTAB = 2;
export const TCA_TBF_PTAB = 3;
export const TCA_TBF_RATE64 = 4;
export const TCA_TBF_PRATE64 = 5;
export const TCA_TBF_BURST = 6;
export const TCA_TBF_PBURST = 7;

/** struct tc_ratespec (12 bytes). */
export const TC_RATESPEC_LEN = 12;
/** struct tc_tbf_qopt: rate, peakrate (tc_ratespec each), limit, buffer, mtu (u32 each) = 36 bytes. */
export const TC_TBF_QOPT_LEN = 36;
export const TC_LINKLAYER_UNAWARE = 0;
export const TC_LINKLAYER_ETHERNET = 1;
export const TC_LINKLAYER_ATM = 2;
/** The rate table: 256 u32 transmit times, indexed by packet size >> cell_log. */
export const TC_RTAB_SIZE = 1024;

export const TCA_U32_CLASSID = 1;
export const TCA_U32_HASH = 2;
export const TCA_U32_LINK = 3;
export const TCA_U32_DIVISOR = 4;
export const TCA_U32_SEL = 5;
export const TCA_U32_POLICE = 6;
export const TCA_U32_ACT = 7;
export const TCA_U32_INDEV = 8;
export const TCA_U32_PCNT = 9;
export const TCA_U32_MARK = 10;
export const TCA_U32_FLAGS = 11;
export const TC_U32_TERMINAL = 1;
/** struct tc_u32_sel without keys (16 bytes); each struct tc_u32_key is 16 bytes. */
export const TC_U32_SEL_LEN = 16;
export const TC_U32_KEY_LEN = 16;

export const TCA_ACT_KIND = 1;
export const TCA_ACT_OPTIONS = 2;
export const TCA_ACT_INDEX = 3;
export const TCA_ACT_STATS = 4;

export const TCA_MIRRED_TM = 1;
export const TCA_MIRRED_PARMS = 2;
/** struct tc_mirred: tc_gen (index, capab, action, refcnt, bindcnt) + eaction + ifindex = 28 bytes. */
export const TC_MIRRED_LEN = 28;
export const TCA_EGRESS_REDIR = 1;
export const TCA_EGRESS_MIRROR = 2;
export const TCA_INGRESS_REDIR = 3;
export const TCA_INGRESS_MIRROR = 4;

export const TC_ACT_OK = 0;
export const TC_ACT_RECLASSIFY = 1;
export const TC_ACT_SHOT = 2;
export const TC_ACT_PIPE = 3;
export const TC_ACT_STOLEN = 4;

export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;

/** psched: one kernel tick is 64 ns (PSCHED_SHIFT 6), so 15.625 ticks per microsecond (/proc/net/psched). */
export const PSCHED_TICKS_PER_USEC = 1000 / 64;
export const TIME_UNITS_PER_SEC = 1_000_000;
