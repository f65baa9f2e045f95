import t from "tap";
import { compareIp, containsIp, containsNet, formatCidr, formatIp, hasHostBits, ipFromBytes, ipToBytes, lastAddressOf, networkOf, nextIp, nthAddress, overlaps, prevIp, sizeOf } from "./ip.js";
import { parseCidr, parseIp, tryParseIp } from "./ip-parse.js";

t.test("parseIp accepts canonical and valid forms", async (t) => {
  const cases: [string, 4 | 6, string][] = [
    ["1.2.3.4", 4, "1.2.3.4"],
    ["0.0.0.0", 4, "0.0.0.0"],
    ["255.255.255.255", 4, "255.255.255.255"],
    ["::", 6, "::"],
    ["::1", 6, "::1"],
    ["2001:DB8::1", 6, "2001:db8::1"],
    ["2001:db8:0:0:0:0:0:1", 6, "2001:db8::1"],
    ["fe80::1:2:3:4", 6, "fe80::1:2:3:4"],
    ["::ffff:10.1.2.3", 4, "10.1.2.3"], // IPv4-mapped becomes IPv4, as host-local canonicalises
    ["64:ff9b::1.2.3.4", 6, "64:ff9b::102:304"],
  ];
  for (const [text, family, canonical] of cases) {
    const ip = parseIp(text);
    t.equal(ip.family, family, `${text} family`);
    t.equal(formatIp(ip), canonical, `${text} canonical`);
  }
});

t.test("parseIp rejects sloppy text", async (t) => {
  const bad = [
    "",
    "1..2.3",
    " 1.2.3.4",
    "1.2.3.4 ",
    "0x10.0.0.1",
    "010.0.0.1",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "1.2.3.-1",
    "1.2.3.4/24",
    "fe80::1%eth0",
    "[::1]",
    ":::",
    "1:2:3:4:5:6:7:8:9",
    "::ffff:1.2.3",
    "::ffff:01.2.3.4",
    "g::1",
    "abc",
  ];
  for (const text of bad) {
    t.throws(() => parseIp(text), SyntaxError, `rejects ${JSON.stringify(text)}`);
    t.equal(tryParseIp(text), undefined);
  }
});

t.test("parseCidr", async (t) => {
  t.equal(formatCidr(parseCidr("10.1.2.3/24")), "10.1.2.3/24", "host bits kept");
  t.equal(formatCidr(parseCidr("2001:db8::/64")), "2001:db8::/64");
  t.equal(parseCidr("0.0.0.0/0").prefixLen, 0);
  t.equal(parseCidr("::/0").addr.family, 6);
  t.equal(formatCidr(parseCidr("::ffff:10.0.0.0/104")), "10.0.0.0/8", "mapped prefix shrinks by 96");
  for (const bad of ["10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/024", "10.0.0.0/-1", "/24", "1..2.3/24", "::/129", "10.0.0.0/24/1", " 10.0.0.0/24"]) {
    t.throws(() => parseCidr(bad), SyntaxError, `rejects ${JSON.stringify(bad)}`);
  }
});

t.test("subnet arithmetic, v4", async (t) => {
  const net = parseCidr("10.1.2.77/24");
  t.equal(formatCidr(networkOf(net)), "10.1.2.0/24");
  t.ok(hasHostBits(net));
  t.notOk(hasHostBits(networkOf(net)));
  t.equal(formatIp(lastAddressOf(net)), "10.1.2.255", "broadcast");
  t.equal(sizeOf(net), 256n);
  t.equal(formatIp(nthAddress(net, 0)), "10.1.2.0");
  t.equal(formatIp(nthAddress(net, 1)), "10.1.2.1");
  t.equal(formatIp(nthAddress(net, 255)), "10.1.2.255");
  t.equal(formatIp(nthAddress(net, -1)), "10.1.2.255");
  t.equal(formatIp(nthAddress(net, -2)), "10.1.2.254");
  t.throws(() => nthAddress(net, 256), RangeError);
  t.throws(() => nthAddress(net, -257), RangeError);
  t.ok(containsIp(net, parseIp("10.1.2.0")));
  t.ok(containsIp(net, parseIp("10.1.2.255")));
  t.notOk(containsIp(net, parseIp("10.1.3.0")));
  t.notOk(containsIp(net, parseIp("::a01:200")), "other family");
  t.equal(formatIp(nextIp(parseIp("10.1.2.255"))), "10.1.3.0");
  t.equal(formatIp(prevIp(parseIp("10.1.3.0"))), "10.1.2.255");
  t.equal(formatIp(nextIp(parseIp("255.255.255.255"))), "0.0.0.0", "wraps");
  t.equal(formatIp(prevIp(parseIp("0.0.0.0"))), "255.255.255.255", "wraps");
  t.equal(formatIp(lastAddressOf(parseCidr("10.0.0.0/16"))), "10.0.255.255");
});

t.test("subnet arithmetic, v6", async (t) => {
  const net = parseCidr("2001:db8:1::5/64");
  t.equal(formatCidr(networkOf(net)), "2001:db8:1::/64");
  t.equal(formatIp(lastAddressOf(net)), "2001:db8:1:0:ffff:ffff:ffff:ffff");
  t.equal(sizeOf(net), 1n << 64n);
  t.equal(formatIp(nthAddress(net, 2)), "2001:db8:1::2");
  t.equal(formatIp(nthAddress(net, -1)), "2001:db8:1:0:ffff:ffff:ffff:ffff");
  t.ok(containsIp(net, parseIp("2001:db8:1::ffff")));
  t.notOk(containsIp(net, parseIp("2001:db8:2::1")));
  t.equal(formatIp(nextIp(parseIp("2001:db8::ffff"))), "2001:db8::1:0");
  t.equal(formatIp(nextIp(parseIp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))), "::");
});

t.test("overlaps and containsNet", async (t) => {
  const cases: [string, string, boolean][] = [
    ["10.0.0.0/24", "10.0.0.0/24", true],
    ["10.0.0.0/16", "10.0.5.0/24", true],
    ["10.0.5.0/24", "10.0.0.0/16", true],
    ["10.0.0.0/24", "10.0.1.0/24", false],
    ["10.0.0.0/25", "10.0.0.128/25", false],
    ["0.0.0.0/0", "192.168.1.0/24", true],
    ["2001:db8::/32", "2001:db8:1::/48", true],
    ["2001:db8::/48", "2001:db8:1::/48", false],
    ["10.0.0.0/8", "::/0", false],
  ];
  for (const [a, b, want] of cases) t.equal(overlaps(parseCidr(a), parseCidr(b)), want, `${a} vs ${b}`);
  t.ok(containsNet(parseCidr("10.0.0.0/16"), parseCidr("10.0.5.0/24")));
  t.notOk(containsNet(parseCidr("10.0.5.0/24"), parseCidr("10.0.0.0/16")));
});

t.test("bytes and ordering", async (t) => {
  t.same([...ipToBytes(parseIp("10.1.2.3"))], [10, 1, 2, 3]);
  t.equal(ipToBytes(parseIp("::1")).length, 16);
  t.equal(formatIp(ipFromBytes(Uint8Array.from([192, 168, 0, 1]))), "192.168.0.1");
  t.equal(formatIp(ipFromBytes(ipToBytes(parseIp("2001:db8::7")))), "2001:db8::7");
  t.throws(() => ipFromBytes(new Uint8Array(5)), RangeError);
  t.ok(compareIp(parseIp("10.0.0.2"), parseIp("10.0.0.10")) < 0);
  t.ok(compareIp(parseIp("255.255.255.255"), parseIp("::")) < 0, "v4 sorts before v6");
  t.equal(compareIp(parseIp("::1"), parseIp("0::1")), 0);
});
