// rtnetlink message codec: unknown attributes survive decode (and re-encode byte for byte); the decoders
// turn kernel-shaped messages into Link / Addr / Route.
import t from "tap";
import { formatCidr, formatIp } from "../../core/ip.js";
import { parseCidr } from "../../core/ip-parse.js";
import type { ByteWriter} from "../netlink/attr.js";
import { encodeAttrs, nla } from "../netlink/attr.js";
import { encodeMessage, parseMessages } from "../netlink/header.js";
import { decodeAddr } from "./addr.js";
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  IFA_ADDRESS,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFF_PROMISC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BRPORT_MODE,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_PROTINFO,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_OIF,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
} from "./constants.js";
import { decodeLink, formatMac, parseMac } from "./link.js";
import { type RtnlMessage, decodeRtnlMessage, encodeRtnlMessage } from "./messages.js";
import { decodeRoute } from "./route.js";

const UNKNOWN_TOP = 250; // no IFLA_* has this number
const UNKNOWN_NESTED = 251;

/** Builds a message as the kernel would send it and decodes it back through parseMessages. */
function kernelMessage(type: number, header: (w: ByteWriter) => void, attrs: Parameters<typeof encodeAttrs>[0]): RtnlMessage {
  const bytes = encodeMessage(type, 0, (w) => {
    header(w);
    w.bytes(encodeAttrs(attrs));
  }, 7, 99);
  const [m] = parseMessages(bytes);
  const d = m && decodeRtnlMessage(m);
  if (d === undefined) throw new Error("did not decode");
  return d;
}

t.test("unknown attributes survive decode and re-encode byte for byte", async (t) => {
  const raw = nla.bytes(UNKNOWN_TOP, Uint8Array.from([1, 2, 3, 4, 5]));
  const rawNested = nla.nest(UNKNOWN_NESTED, [nla.u32(1, 42), nla.str(2, "x")]);
  const bytes = encodeMessage(RTM_NEWLINK, 0, (w) => {
    w.u8(0).u8(0).u16(1).s32(3).u32(IFF_UP).u32(0);
    for (const a of [nla.str(IFLA_IFNAME, "eth0"), raw, nla.u32(IFLA_MTU, 1500), rawNested]) w.attr(a);
  });
  const [m] = parseMessages(bytes);
  const msg = m && decodeRtnlMessage(m);
  t.equal(msg?.kind, "link");
  if (msg?.kind !== "link") return;
  const link = decodeLink(msg);
  t.equal(link.name, "eth0");
  t.equal(link.mtu, 1500);
  const unknown = link.attrs.find((a) => a.type === UNKNOWN_TOP);
  t.same(Array.from(unknown?.data ?? []), [1, 2, 3, 4, 5]);
  t.equal(unknown?.nested, false);
  const unknownNested = link.attrs.find((a) => a.type === UNKNOWN_NESTED);
  t.equal(unknownNested?.nested, true);
  t.same(unknownNested?.data, rawNested.data);
  t.equal(link.attrs.length, 4, "all four attributes kept, in order");
  t.same(link.attrs.map((a) => a.type), [IFLA_IFNAME, UNKNOWN_TOP, IFLA_MTU, UNKNOWN_NESTED]);
  t.equal(Buffer.from(encodeRtnlMessage(msg)).toString("hex"), Buffer.from(bytes).toString("hex"), "re-encodes to the same bytes");
});

t.test("decodeLink: a veth bridge port as the kernel reports it", async (t) => {
  const msg = kernelMessage(
    RTM_NEWLINK,
    (w) => w.u8(0).u8(0).u16(1).s32(5).u32(IFF_UP | IFF_PROMISC).u32(0),
    [
      nla.str(IFLA_IFNAME, "veth1"),
      nla.u32(IFLA_MTU, 1460),
      nla.bytes(IFLA_ADDRESS, parseMac("0A:58:0a:f4:00:05")),
      nla.u32(IFLA_MASTER, 2),
      nla.u32(IFLA_LINK, 2),
      nla.s32(IFLA_LINK_NETNSID, 0),
      nla.u8(IFLA_OPERSTATE, 6),
      // The kernel sends IFLA_LINKINFO without NLA_F_NESTED: decoding must not depend on the flag.
      {
        type: IFLA_LINKINFO,
        nested: false,
        data: encodeAttrs([
          nla.str(IFLA_INFO_KIND, "veth"),
          nla.str(IFLA_INFO_SLAVE_KIND, "bridge"),
          nla.nest(IFLA_INFO_SLAVE_DATA, [nla.u8(1, 3), nla.u8(IFLA_BRPORT_MODE, 1)]),
        ]),
      },
    ],
  );
  if (msg.kind !== "link") throw new Error("kind");
  const l = decodeLink(msg);
  t.match(l, {
    index: 5,
    name: "veth1",
    kind: "veth",
    up: true,
    promisc: true,
    mtu: 1460,
    mac: "0a:58:0a:f4:00:05",
    master: 2,
    parentIndex: 2,
    linkNetnsId: 0,
    operstate: 6,
    hairpin: true,
  });
});

t.test("decodeLink: hairpin from an AF_BRIDGE IFLA_PROTINFO; absent attributes are undefined", async (t) => {
  const msg = kernelMessage(RTM_NEWLINK, (w) => w.u8(AF_BRIDGE).u8(0).u16(1).s32(5).u32(0).u32(0), [
    nla.str(IFLA_IFNAME, "veth1"),
    nla.nest(IFLA_PROTINFO, [nla.u8(IFLA_BRPORT_MODE, 0)]),
  ]);
  if (msg.kind !== "link") throw new Error("kind");
  const l = decodeLink(msg);
  t.equal(l.hairpin, false);
  t.equal(l.kind, undefined);
  t.equal(l.master, undefined);
  t.equal(l.parentIndex, undefined);
  t.equal(l.mac, "");
  t.equal(l.up, false);
});

t.test("decodeAddr: IFA_LOCAL wins for IPv4, IFA_ADDRESS for IPv6; IFA_FLAGS over ifa_flags", async (t) => {
  const v4 = kernelMessage(RTM_NEWADDR, (w) => w.u8(AF_INET).u8(24).u8(0x80).u8(0).u32(3), [
    nla.bytes(IFA_ADDRESS, Uint8Array.from([10, 0, 0, 2])), // the peer, on a point-to-point link
    nla.bytes(IFA_LOCAL, Uint8Array.from([10, 0, 0, 1])),
    nla.str(IFA_LABEL, "eth0"),
    nla.u32(IFA_FLAGS, 0x280),
  ]);
  if (v4.kind !== "addr") throw new Error("kind");
  const a = decodeAddr(v4);
  t.equal(a && formatCidr(a.address), "10.0.0.1/24");
  t.equal(a?.flags, 0x280);
  t.equal(a?.label, "eth0");
  t.equal(a?.index, 3);
  const v6 = kernelMessage(RTM_NEWADDR, (w) => w.u8(AF_INET6).u8(64).u8(0x02).u8(0).u32(3), [
    nla.bytes(IFA_ADDRESS, Uint8Array.from([0xfd, 0, ...new Array<number>(13).fill(0), 1])),
  ]);
  if (v6.kind !== "addr") throw new Error("kind");
  const b = decodeAddr(v6);
  t.equal(b && formatCidr(b.address), "fd00::1/64");
  t.equal(b?.flags, 0x02, "no IFA_FLAGS: ifa_flags");
  t.equal(b?.family, 6);
});

t.test("decodeRoute: default route (no RTA_DST), metrics, RTA_TABLE over rtm_table", async (t) => {
  const msg = kernelMessage(
    RTM_NEWROUTE,
    (w) => w.u8(AF_INET).u8(0).u8(0).u8(0).u8(252).u8(3).u8(0).u8(1).u32(0),
    [
      nla.u32(RTA_TABLE, 1000),
      nla.bytes(RTA_GATEWAY, Uint8Array.from([10, 244, 0, 1])),
      nla.u32(RTA_OIF, 2),
      nla.u32(RTA_PRIORITY, 10),
      { type: RTA_METRICS, nested: false, data: encodeAttrs([nla.u32(RTAX_MTU, 1400), nla.u32(RTAX_ADVMSS, 1360)]) },
    ],
  );
  if (msg.kind !== "route") throw new Error("kind");
  const r = decodeRoute(msg);
  t.equal(r?.dst, undefined);
  t.equal(r?.gateway && formatIp(r.gateway), "10.244.0.1");
  t.match(r, { table: 1000, oif: 2, priority: 10, mtu: 1400, advmss: 1360, protocol: 3, scope: 0, type: 1, family: 4 });
  const net = kernelMessage(RTM_NEWROUTE, (w) => w.u8(AF_INET).u8(12).u8(0).u8(0).u8(254).u8(2).u8(253).u8(1).u32(0), [
    nla.bytes(RTA_DST, Uint8Array.from([10, 96, 0, 0])),
  ]);
  if (net.kind !== "route") throw new Error("kind");
  const n = decodeRoute(net);
  t.equal(n?.dst && formatCidr(n.dst), "10.96.0.0/12");
  t.equal(n?.table, 254);
  t.equal(n?.gateway, undefined);
  t.equal(n?.mtu, undefined);
  void parseCidr;
});

t.test("MAC parse/format", async (t) => {
  t.equal(formatMac(parseMac("AA:bb:0c:dd:ee:0F")), "aa:bb:0c:dd:ee:0f");
  t.equal(formatMac(new Uint8Array(0)), "");
  for (const bad of ["", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa-bb-cc-dd-ee-ff", "a:bb:cc:dd:ee:ff", "gg:bb:cc:dd:ee:ff"]) {
    t.throws(() => parseMac(bad), SyntaxError, bad);
  }
});

t.test("decodeRtnlMessage ignores other message types", async (t) => {
  const [m] = parseMessages(encodeMessage(3, 0, (w) => w.u32(0)));
  t.equal(m && decodeRtnlMessage(m), undefined);
});
