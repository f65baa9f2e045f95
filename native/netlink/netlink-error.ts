// native/netlink/netlink-error: NetlinkError, a SysError that names the netlink operation ("RTM_NEWLINK")
// and carries the kernel's extended-ACK text.
// Pure; imports ../ffi/sys-error only.

import { SysError, errnoDescription, errnoName } from "../ffi/sys-error.js";

export class NetlinkError extends SysError {
  /** The request's message type by kernel name, e.g. "RTM_NEWLINK". */
  readonly op: string;
  /** NLMSGERR_ATTR_MSG, e.g. "Unknown device type"; undefined when the kernel gave no text. */
  readonly extAck: string | undefined;

  /**
   * @param op message type name ("RTM_NEWADDR")
   * @param errno positive errno
   * @param extAck the kernel's extended-ACK text
   * @param detail the request in iproute2 terms, e.g. `ip link add "cbr0" type bridge`
   */
  constructor(op: string, errno: number, extAck?: string, detail?: string, options?: ErrorOptions) {
    super("netlink", errno, detail, options);
    this.name = "NetlinkError";
    this.op = op;
    this.extAck = extAck;
    const what = detail === undefined ? op : `${op} (${detail})`;
    const why = extAck === undefined ? "" : `: ${extAck}`;
    this.message = `${what} failed: ${errnoDescription(errno)} (${errnoName(errno)})${why}`;
  }
}
