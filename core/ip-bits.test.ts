// core/ip-bits agrees with core/ip (which parses with ip-address; the netlink path of native/ uses ip-bits only).
import t from "tap";
import { formatCidr, formatIp, ipFromBytes as coreFromBytes, ipToBytes as coreToBytes, lastAddressOf, networkOf, parseCidr, parseIp } from "./ip.js";
import { formatCidrText, formatIpText, ipFromBytes, ipToBytes, lastAddr, networkAddr } from "./ip-bits.js";

const samples = [
  "0.0.0.0/0", "10.244.0.5/24", "255.255.255.255/32", "192.168.1.77/31",
  "::/0", "::1/128", "fd00::1/64", "2001:db8::/32", "2001:db8:0:0:1:0:0:1/64", "fe80::1:0:0:0/10",
  "1:0:0:2:0:0:0:3/96", "1:2:3:4:5:6:7:8/128", "0:0:1::/48", "1::/16", "2001:0:0:1::1/100",
];

t.test("bytes, network, last address and text match core/ip", async (t) => {
  for (const text of samples) {
    const net = parseCidr(text);
    t.same(ipToBytes(net.addr), coreToBytes(net.addr), text);
    t.same(ipFromBytes(coreToBytes(net.addr)), coreFromBytes(coreToBytes(net.addr)), text);
    t.same(networkAddr(net), networkOf(net).addr, `network ${text}`);
    t.same(lastAddr(net), lastAddressOf(net), `last ${text}`);
    t.equal(formatIpText(net.addr), formatIp(net.addr), `text ${text}`);
    t.equal(formatCidrText(net), formatCidr(net));
  }
  t.equal(formatIpText(parseIp("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1", "the first of two equal zero runs");
  t.equal(formatIpText(parseIp("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1", "a single zero group is not compressed");
  t.throws(() => ipFromBytes(new Uint8Array(5)), RangeError);
});
