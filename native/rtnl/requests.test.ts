// Golden bytes of every request the native layer sends, written by hand from the kernel structs
// (nlmsghdr 16 bytes, ifinfomsg 16, ifaddrmsg 8, rtmsg 12; attributes = u16 len, u16 type, payload, pad to 4;
// host byte order = little-endian on x86_64/aarch64). The kernel tests (test/native) prove the kernel accepts
// exactly these bytes. Sequence number and port id are 0 here: the socket stamps the sequence when sending.
import t from "tap";
import { parseCidr, parseIp } from "../../core/ip-parse.js";
import { addrAddRequest, addrDelRequest, addrReplaceRequest } from "./addr.js";
import {
  linkAddBridgeRequest,
  linkAddVethRequest,
  linkDelRequest,
  linkGetByIndexRequest,
  linkGetRequest,
  linkListRequest,
  linkSetAliasRequest,
  linkSetHairpinRequest,
  linkSetMacRequest,
  linkSetMasterRequest,
  linkSetMtuRequest,
  linkSetNameRequest,
  linkSetNetnsRequest,
  linkSetPromiscRequest,
  linkSetUpRequest,
} from "./link.js";
import { type RtnlMessage, decodeRtnlMessage, encodeRtnlMessage } from "./messages.js";
import { routeAddRequest, routeDelRequest, routeListRequest, routeReplaceRequest } from "./route.js";
import { parseMessages } from "../netlink/header.js";

/** Hex text with spaces, "|" separators and "# comments" -> plain hex. */
const hex = (s: string): string =>
  s
    .split("\n")
    .map((l) => l.replace(/#.*$/, ""))
    .join("")
    .replace(/[\s|]/g, "");
const bytesOf = (m: RtnlMessage): string => Buffer.from(encodeRtnlMessage(m)).toString("hex");

const cases: [group: string, name: string, message: RtnlMessage, expected: string][] = [];
const golden = (group: string, name: string, m: RtnlMessage, expected: string): void => {
  cases.push([group, name, m, expected]);
};

const IFINFO_ZERO = "00 00 0000 00000000 00000000 00000000";

{
  const g = "links";
  golden(
    g,
    "linkAddBridge cbr0 mtu 1460 address 0a:58:0a:f4:00:01",
    linkAddBridgeRequest({ name: "cbr0", mtu: 1460, mac: "0a:58:0a:f4:00:01" }),
    // len 80, RTM_NEWLINK(16), REQUEST|ACK|ECHO|EXCL|CREATE = 0x060d, seq 0, pid 0
    `50000000 1000 0d06 00000000 00000000 | ${IFINFO_ZERO}
     0900 0300 63627230 00 000000            # IFLA_IFNAME "cbr0\\0" + pad
     0800 0400 b4050000                      # IFLA_MTU 1460
     0a00 0100 0a580af40001 0000             # IFLA_ADDRESS
     1000 1280 0b00 0100 627269646765 00 00  # IFLA_LINKINFO|NESTED { IFLA_INFO_KIND "bridge\\0" + pad }`,
  );
  golden(
    g,
    "linkAddVeth veth1 mtu 1500 peer eth0 (mtu 1500) netns fd 7",
    linkAddVethRequest({ name: "veth1", mtu: 1500, peerName: "eth0", peerNetnsFd: 7 }),
    `78000000 1000 0d06 00000000 00000000 | ${IFINFO_ZERO}
     0a00 0300 7665746831 00 0000            # IFLA_IFNAME "veth1"
     0800 0400 dc050000                      # IFLA_MTU 1500
     4400 1280                               # IFLA_LINKINFO|NESTED, 68 bytes
       0900 0100 76657468 00 000000          #   IFLA_INFO_KIND "veth"
       3400 0280                             #   IFLA_INFO_DATA|NESTED, 52 bytes
         3000 0180                           #     VETH_INFO_PEER|NESTED, 48 bytes: ifinfomsg + attributes
           ${IFINFO_ZERO}
           0900 0300 65746830 00 000000      #       IFLA_IFNAME "eth0"
           0800 0400 dc050000                #       IFLA_MTU 1500
           0800 1c00 07000000                #       IFLA_NET_NS_FD 7`,
  );
  golden(g, "linkSetUp 5", linkSetUpRequest(5, true), "20000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 01000000 01000000");
  golden(g, "linkSetDown 5", linkSetUpRequest(5, false), "20000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 01000000");
  golden(
    g,
    "linkSetMaster 5 master 2",
    linkSetMasterRequest(5, 2),
    "28000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 0800 0a00 02000000",
  );
  golden(
    g,
    "linkSetMaster 5 nomaster",
    linkSetMasterRequest(5, 0),
    "28000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 0800 0a00 00000000",
  );
  golden(
    g,
    "linkSetMtu 5 1400",
    linkSetMtuRequest(5, 1400),
    "28000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 0800 0400 78050000",
  );
  golden(
    g,
    "linkSetName 5 eth1",
    linkSetNameRequest(5, "eth1"),
    "2c000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 0900 0300 65746831 00 000000",
  );
  golden(
    g,
    "linkSetMac 5 02:00:00:00:00:01",
    linkSetMacRequest(5, "02:00:00:00:00:01"),
    "2c000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 0a00 0100 020000000001 0000",
  );
  golden(
    g,
    "linkSetPromisc 5 on",
    linkSetPromiscRequest(5, true),
    "20000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00010000 00010000",
  );
  golden(
    g,
    "linkSetPromisc 5 off",
    linkSetPromiscRequest(5, false),
    "20000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00010000",
  );
  golden(
    g,
    "linkSetHairpin 5 on (AF_BRIDGE, IFLA_PROTINFO { IFLA_BRPORT_MODE 1 })",
    linkSetHairpinRequest(5, true),
    "2c000000 1300 0500 00000000 00000000 | 07 00 0000 05000000 00000000 00000000 | 0c00 0c80 0500 0400 01 000000",
  );
  golden(
    g,
    "linkSetHairpin 5 off",
    linkSetHairpinRequest(5, false),
    "2c000000 1300 0500 00000000 00000000 | 07 00 0000 05000000 00000000 00000000 | 0c00 0c80 0500 0400 00 000000",
  );
  golden(
    g,
    "linkSetNetns 5 fd 7",
    linkSetNetnsRequest(5, 7),
    "28000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 0800 1c00 07000000",
  );
  golden(
    g,
    'linkSetAlias 5 "kubenet:c1:eth0"',
    linkSetAliasRequest(5, "kubenet:c1:eth0"),
    // IFLA_IFALIAS (20): 15 characters + NUL = 16 bytes, nla_len 20, no padding
    "34000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 1400 1400 6b7562656e65743a63313a657468 3000",
  );
  golden(
    g,
    'linkSetAlias 5 "" (removes it)',
    linkSetAliasRequest(5, ""),
    "28000000 1300 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 0500 1400 00 000000",
  );
  golden(g, "linkDel 5", linkDelRequest(5), "20000000 1100 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000");
  golden(
    g,
    "linkGet eth0 (IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS)",
    linkGetRequest("eth0"),
    `34000000 1200 0500 00000000 00000000 | ${IFINFO_ZERO} | 0900 0300 65746830 00 000000 | 0800 1d00 08000000`,
  );
  golden(
    g,
    "linkGetByIndex 5",
    linkGetByIndexRequest(5),
    "28000000 1200 0500 00000000 00000000 | 00 00 0000 05000000 00000000 00000000 | 0800 1d00 08000000",
  );
  // The socket adds NLM_F_DUMP when it sends a dump.
  golden(g, "linkList", linkListRequest(), `28000000 1200 0100 00000000 00000000 | ${IFINFO_ZERO} | 0800 1d00 08000000`);
}

{
  const g = "addresses";
  golden(
    g,
    "addrAdd 10.244.0.1/24 dev 3 (IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST 10.244.0.255)",
    addrAddRequest(3, parseCidr("10.244.0.1/24")),
    // RTM_NEWADDR(20), REQUEST|ACK|EXCL|CREATE = 0x0605; ifaddrmsg AF_INET, /24, flags 0, scope 0, index 3
    `30000000 1400 0506 00000000 00000000 | 02 18 00 00 03000000
     0800 0200 0af40001 | 0800 0100 0af40001 | 0800 0400 0af400ff`,
  );
  golden(
    g,
    "addrAdd 10.244.0.1/32 (no broadcast for /31 and /32)",
    addrAddRequest(3, parseCidr("10.244.0.1/32")),
    `28000000 1400 0506 00000000 00000000 | 02 20 00 00 03000000 | 0800 0200 0af40001 | 0800 0100 0af40001`,
  );
  golden(
    g,
    "addrAdd 10.244.0.1/24 brd none",
    addrAddRequest(3, parseCidr("10.244.0.1/24"), { broadcast: "none" }),
    `28000000 1400 0506 00000000 00000000 | 02 18 00 00 03000000 | 0800 0200 0af40001 | 0800 0100 0af40001`,
  );
  golden(
    g,
    "addrAdd fd00::1/64 dev 3 nodad (IFA_ADDRESS + IFA_FLAGS)",
    addrAddRequest(3, parseCidr("fd00::1/64"), { flags: 0x02 }),
    `34000000 1400 0506 00000000 00000000 | 0a 40 02 00 03000000
     1400 0100 fd000000000000000000000000000001
     0800 0800 02000000`,
  );
  golden(
    g,
    "addrReplace 10.244.0.1/24 dev 3 (REQUEST|ACK|REPLACE|CREATE = 0x0505)",
    addrReplaceRequest(3, parseCidr("10.244.0.1/24")),
    `30000000 1400 0505 00000000 00000000 | 02 18 00 00 03000000
     0800 0200 0af40001 | 0800 0100 0af40001 | 0800 0400 0af400ff`,
  );
  golden(
    g,
    "addrDel 10.244.0.1/24 dev 3",
    addrDelRequest(3, parseCidr("10.244.0.1/24")),
    `28000000 1500 0500 00000000 00000000 | 02 18 00 00 03000000 | 0800 0200 0af40001 | 0800 0100 0af40001`,
  );
  golden(
    g,
    "addrDel fd00::1/64 dev 3",
    addrDelRequest(3, parseCidr("fd00::1/64")),
    `2c000000 1500 0500 00000000 00000000 | 0a 40 00 00 03000000 | 1400 0100 fd000000000000000000000000000001`,
  );
}

{
  const g = "routes";
  golden(
    g,
    "routeAdd default via 10.244.0.1",
    routeAddRequest({ gateway: parseIp("10.244.0.1") }),
    // RTM_NEWROUTE(24); rtmsg AF_INET, dst_len 0, src 0, tos 0, table main(254), RTPROT_BOOT, universe, unicast
    `24000000 1800 0506 00000000 00000000 | 02 00 00 00 fe 03 00 01 00000000 | 0800 0500 0af40001`,
  );
  golden(
    g,
    "routeAdd default via fe80::1 dev 3",
    routeAddRequest({ gateway: parseIp("fe80::1"), oif: 3 }),
    `38000000 1800 0506 00000000 00000000 | 0a 00 00 00 fe 03 00 01 00000000
     1400 0500 fe800000000000000000000000000001 | 0800 0400 03000000`,
  );
  golden(
    g,
    "routeAdd 10.96.0.0/12 dev 3 metric 100 (device route: scope link)",
    routeAddRequest({ dst: parseCidr("10.96.0.0/12"), oif: 3, priority: 100 }),
    `34000000 1800 0506 00000000 00000000 | 02 0c 00 00 fe 03 fd 01 00000000
     0800 0100 0a600000 | 0800 0400 03000000 | 0800 0600 64000000`,
  );
  golden(
    g,
    "routeAdd 10.96.1.2/12 sends the network 10.96.0.0",
    routeAddRequest({ dst: parseCidr("10.96.1.2/12"), oif: 3, priority: 100 }),
    `34000000 1800 0506 00000000 00000000 | 02 0c 00 00 fe 03 fd 01 00000000
     0800 0100 0a600000 | 0800 0400 03000000 | 0800 0600 64000000`,
  );
  golden(
    g,
    "routeAdd 2001:db8::/32 dev 3",
    routeAddRequest({ dst: parseCidr("2001:db8::/32"), oif: 3 }),
    `38000000 1800 0506 00000000 00000000 | 0a 20 00 00 fe 03 fd 01 00000000
     1400 0100 20010db8000000000000000000000000 | 0800 0400 03000000`,
  );
  golden(
    g,
    "routeAdd 10.0.0.0/8 via 10.244.0.1 table 1000 mtu 1400 advmss 1360 (RTA_TABLE, RTA_METRICS)",
    routeAddRequest({ dst: parseCidr("10.0.0.0/8"), gateway: parseIp("10.244.0.1"), table: 1000, mtu: 1400, advmss: 1360 }),
    `48000000 1800 0506 00000000 00000000 | 02 08 00 00 00 03 00 01 00000000
     0800 0100 0a000000 | 0800 0500 0af40001 | 0800 0f00 e8030000
     1400 0880 0800 0200 78050000 0800 0800 50050000`,
  );
  golden(
    g,
    "routeReplace default via 10.244.0.1 (REQUEST|ACK|REPLACE|CREATE)",
    routeReplaceRequest({ gateway: parseIp("10.244.0.1") }),
    `24000000 1800 0505 00000000 00000000 | 02 00 00 00 fe 03 00 01 00000000 | 0800 0500 0af40001`,
  );
  golden(
    g,
    "routeDel 10.96.0.0/12 (protocol/type any, scope nowhere)",
    routeDelRequest({ dst: parseCidr("10.96.0.0/12") }),
    `24000000 1900 0500 00000000 00000000 | 02 0c 00 00 fe 00 ff 00 00000000 | 0800 0100 0a600000`,
  );
  golden(
    g,
    "routeList table 254 dev 3",
    routeListRequest({ family: 4, table: 254, oif: 3 }),
    `2c000000 1a00 0100 00000000 00000000 | 02 00 00 00 00 00 00 00 00000000 | 0800 0f00 fe000000 | 0800 0400 03000000`,
  );
}

for (const [group, name, m, expected] of cases) {
  t.test(`${group}: ${name}`, async (t) => {
    t.equal(bytesOf(m), hex(expected));
    // nlmsg_len equals the real length, and the bytes decode back to the same message.
    const bytes = encodeRtnlMessage(m);
    t.equal(new DataView(bytes.buffer).getUint32(0, true), bytes.length);
    const [nl] = parseMessages(bytes);
    t.ok(nl);
    if (nl !== undefined) t.same(decodeRtnlMessage(nl), m);
  });
}

t.test("requests validate their input", async (t) => {
  t.throws(() => linkAddBridgeRequest({ name: "a-name-that-is-too-long" }), RangeError);
  t.throws(() => linkAddBridgeRequest({ name: "" }), RangeError);
  t.throws(() => linkAddBridgeRequest({ name: "a/b" }), RangeError);
  t.throws(() => linkAddBridgeRequest({ name: "br0", mac: "zz:00:00:00:00:00" }), SyntaxError);
  t.throws(() => linkSetUpRequest(0, true), RangeError);
  t.throws(() => linkSetAliasRequest(5, "x".repeat(256)), RangeError);
  t.throws(() => routeAddRequest({}), RangeError);
  t.throws(() => routeAddRequest({ dst: parseCidr("10.0.0.0/8"), gateway: parseIp("fe80::1") }), RangeError);
});
