// native/conntrack/constants: the ctnetlink constants this package uses, named as in the kernel's
// include/uapi/linux/netfilter/nfnetlink.h, nfnetlink_conntrack.h and netlink.h.

export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_CTNETLINK = 1;
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
export const NFNETLINK_V0 = 0;
export const CTA_TUPLE_ORIG = 1;
export const CTA_ZONE = 18;
export const CTA_FILTER = 25;
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_PROTO_NUM = 1;
export const CTA_PROTO_DST_PORT = 3;
export const CTA_FILTER_ORIG_FLAGS = 1;
export const CTA_FILTER_FLAG_CTA_PROTO_NUM = 1 << 3;
export const CTA_FILTER_FLAG_CTA_PROTO_DST_PORT = 1 << 5;
