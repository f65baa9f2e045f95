// native/rtnl/link-ifb: `ip link add NAME type ifb` (the Intermediate Functional Block device that egress
// shaping redirects a pod's traffic into, so a root qdisc can shape it). One request, as link.ts does for
// bridges and veths. Pure; imports ../netlink codec, ./link, ./messages and ./constants.

import type { LinkAddIfbSpec } from "../api.js";
import { nla } from "../netlink/attr.js";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REQUEST } from "../netlink/constants.js";
import { IFF_UP, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, RTM_NEWLINK } from "./constants.js";
import { checkIfName } from "./link.js";
import { type LinkMessage, ZERO_IFINFOMSG } from "./messages.js";

/**
 * `ip link add NAME [mtu M] [up] type ifb` — RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK|NLM_F_ECHO;
 * with `up`, ifi_flags/ifi_change IFF_UP bring it up in the same request (rtnl_configure_link), as the Go
 * reference does. Exists: EEXIST.
 */
export function linkAddIfbRequest(spec: LinkAddIfbSpec): LinkMessage {
  checkIfName(spec.name);
  const attrs = [nla.str(IFLA_IFNAME, spec.name)];
  if (spec.mtu !== undefined) {
    if (!Number.isInteger(spec.mtu) || spec.mtu < 0 || spec.mtu > 0xffffffff) throw new RangeError(`Invalid MTU ${spec.mtu}`);
    attrs.push(nla.u32(IFLA_MTU, spec.mtu));
  }
  attrs.push(nla.nest(IFLA_LINKINFO, [nla.str(IFLA_INFO_KIND, "ifb")]));
  const up = spec.up === true ? IFF_UP : 0;
  return {
    kind: "link",
    type: RTM_NEWLINK,
    flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
    header: { ...ZERO_IFINFOMSG, flags: up, change: up },
    attrs,
  };
}
