import t from "tap";
import { throwsCni } from "../../test/support/assert-cni.js";
import { parseCidr, parseIp } from "../ip-parse.js";
import { decodeResult, decodeVersionedResult, encodeResult, type Result } from "./result.js";
import { SUPPORTED_CNI_VERSIONS, type CniVersion } from "./version.js";

const full: Result = {
  interfaces: [
    { name: "cbr0", mac: "aa:bb:cc:00:00:01", mtu: 1460 },
    { name: "veth12345678", mac: "aa:bb:cc:00:00:02" },
    { name: "eth0", mac: "aa:bb:cc:00:00:03", mtu: 1460, sandbox: "/run/netns/x", socketPath: "/s", pciID: "0000:00:01.0" },
  ],
  ips: [
    { address: parseCidr("10.1.2.5/24"), gateway: parseIp("10.1.2.1"), interface: 2 },
    { address: parseCidr("2001:db8::5/64"), gateway: parseIp("2001:db8::1"), interface: 2 },
    { address: parseCidr("10.9.0.7/16"), interface: 0 },
  ],
  routes: [
    { dst: parseCidr("0.0.0.0/0"), gw: parseIp("10.1.2.1"), mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 },
    { dst: parseCidr("::/0"), gw: parseIp("2001:db8::1") },
    { dst: parseCidr("192.168.0.0/16") },
  ],
  dns: { nameservers: ["10.0.0.10"], domain: "cluster.local", search: ["a.svc", "svc"], options: ["ndots:5"] },
};

const dnsJson = { nameservers: ["10.0.0.10"], domain: "cluster.local", search: ["a.svc", "svc"], options: ["ndots:5"] };

const expected02 = (v: string) => ({
  cniVersion: v,
  ip4: { ip: "10.1.2.5/24", gateway: "10.1.2.1", routes: [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "192.168.0.0/16" }] },
  ip6: { ip: "2001:db8::5/64", gateway: "2001:db8::1", routes: [{ dst: "::/0", gw: "2001:db8::1" }] },
  dns: dnsJson,
});
const expected04 = (v: string) => ({
  cniVersion: v,
  interfaces: [
    { name: "cbr0", mac: "aa:bb:cc:00:00:01" },
    { name: "veth12345678", mac: "aa:bb:cc:00:00:02" },
    { name: "eth0", mac: "aa:bb:cc:00:00:03", sandbox: "/run/netns/x" },
  ],
  ips: [
    { version: "4", interface: 2, address: "10.1.2.5/24", gateway: "10.1.2.1" },
    { version: "6", interface: 2, address: "2001:db8::5/64", gateway: "2001:db8::1" },
    { version: "4", interface: 0, address: "10.9.0.7/16" },
  ],
  routes: [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "::/0", gw: "2001:db8::1" }, { dst: "192.168.0.0/16" }],
  dns: dnsJson,
});
const expected100 = {
  cniVersion: "1.0.0",
  interfaces: expected04("x").interfaces,
  ips: [
    { interface: 2, address: "10.1.2.5/24", gateway: "10.1.2.1" },
    { interface: 2, address: "2001:db8::5/64", gateway: "2001:db8::1" },
    { interface: 0, address: "10.9.0.7/16" },
  ],
  routes: expected04("x").routes,
  dns: dnsJson,
};
const expected110 = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "cbr0", mac: "aa:bb:cc:00:00:01", mtu: 1460 },
    { name: "veth12345678", mac: "aa:bb:cc:00:00:02" },
    { name: "eth0", mac: "aa:bb:cc:00:00:03", mtu: 1460, sandbox: "/run/netns/x", socketPath: "/s", pciID: "0000:00:01.0" },
  ],
  ips: expected100.ips,
  routes: [
    { dst: "0.0.0.0/0", gw: "10.1.2.1", mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 },
    { dst: "::/0", gw: "2001:db8::1" },
    { dst: "192.168.0.0/16" },
  ],
  dns: dnsJson,
};

const expectedFor: Record<CniVersion, unknown> = {
  "0.1.0": expected02("0.1.0"),
  "0.2.0": expected02("0.2.0"),
  "0.3.0": expected04("0.3.0"),
  "0.3.1": expected04("0.3.1"),
  "0.4.0": expected04("0.4.0"),
  "1.0.0": expected100,
  "1.1.0": expected110,
};

t.test("encodeResult emits the exact shape of every version", async (t) => {
  for (const v of SUPPORTED_CNI_VERSIONS) {
    const got = encodeResult(full, v);
    t.same(got, expectedFor[v], v);
    t.equal(JSON.stringify(got), JSON.stringify(expectedFor[v]), `${v}: key order as the Go lib prints`);
  }
});

t.test("round trip through every version keeps what that version can carry", async (t) => {
  for (const v of SUPPORTED_CNI_VERSIONS) {
    const decoded = decodeResult(JSON.parse(JSON.stringify(encodeResult(full, v))), v);
    t.same(encodeResult(decoded, v), expectedFor[v], `${v} encode(decode(x)) = x`);
  }
  // 1.1 -> 0.4 -> 1.1 loses the 1.1-only fields; 0.2 -> 1.x has no interfaces.
  const via04 = decodeResult(encodeResult(full, "0.4.0"), "0.4.0");
  t.equal(via04.interfaces[2]?.mtu, undefined);
  t.equal(via04.routes[0]?.priority, undefined);
  const via02 = decodeResult(encodeResult(full, "0.2.0"), "0.2.0");
  t.same(encodeResult(via02, "1.0.0"), {
    cniVersion: "1.0.0",
    ips: [
      { address: "10.1.2.5/24", gateway: "10.1.2.1" },
      { address: "2001:db8::5/64", gateway: "2001:db8::1" },
    ],
    routes: [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "192.168.0.0/16" }, { dst: "::/0", gw: "2001:db8::1" }],
    dns: dnsJson,
  });
});

t.test("conversion pairs for every version we emit", async (t) => {
  // Any version's JSON decodes and re-encodes in any other version like the direct encoding of what survived.
  for (const from of SUPPORTED_CNI_VERSIONS) {
    const decoded = decodeResult(encodeResult(full, from), from);
    for (const to of SUPPORTED_CNI_VERSIONS) {
      const got = encodeResult(decoded, to) as { cniVersion: string };
      t.equal(got.cniVersion, to, `${from} -> ${to} cniVersion`);
      if (to.startsWith("0.1") || to.startsWith("0.2")) t.same(got, expectedFor[to], `${from} -> ${to}`);
    }
  }
});

t.test("0.1/0.2: one address per family, routes by family, dropped without an address of theirs", async (t) => {
  const v4only: Result = {
    interfaces: [],
    ips: [{ address: parseCidr("10.0.0.2/24") }, { address: parseCidr("10.0.1.2/24") }],
    routes: [{ dst: parseCidr("::/0") }, { dst: parseCidr("0.0.0.0/0") }],
    dns: {},
  };
  t.same(encodeResult(v4only, "0.2.0"), { cniVersion: "0.2.0", ip4: { ip: "10.0.0.2/24", routes: [{ dst: "0.0.0.0/0" }] }, dns: {} });
});

t.test("0.1/0.2 without any IP cannot be expressed", async (t) => {
  const l2: Result = { interfaces: [{ name: "eth0", sandbox: "/x" }], ips: [], routes: [], dns: {} };
  for (const v of ["0.1.0", "0.2.0"] as const) {
    throwsCni(t, () => encodeResult(l2, v), 1, /cannot convert: no valid IP addresses/);
  }
  t.same(encodeResult(l2, "0.3.1"), { cniVersion: "0.3.1", interfaces: [{ name: "eth0", sandbox: "/x" }], dns: {} });
});

t.test("empty parts are omitted, dns always present (as host-local prints it)", async (t) => {
  const r: Result = { interfaces: [], ips: [{ address: parseCidr("10.1.2.2/24"), gateway: parseIp("10.1.2.1") }], routes: [], dns: {} };
  t.equal(JSON.stringify(encodeResult(r, "1.0.0")), '{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.2/24","gateway":"10.1.2.1"}],"dns":{}}');
  t.equal(JSON.stringify(encodeResult(r, "0.3.1")), '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.1.2.2/24","gateway":"10.1.2.1"}],"dns":{}}');
});

t.test("decode errors name the key and the value", async (t) => {
  const cases: [unknown, CniVersion, RegExp][] = [
    ["nope", "1.0.0", /must be a JSON object/],
    [{ ips: {} }, "1.0.0", /"ips" must be a list/],
    [{ ips: [{ address: "10.1.2.300/24" }] }, "1.0.0", /not a valid CIDR: "10.1.2.300\/24"/],
    [{ ips: [{ address: 5 }] }, "1.0.0", /"address" must be a CIDR string/],
    [{ ips: [{ address: "10.1.2.3/24", gateway: "x" }] }, "1.0.0", /"gateway" is not a valid IP address: "x"/],
    [{ ips: [{ address: "10.1.2.3/24", gateway: "::1" }] }, "1.0.0", /not in the family/],
    [{ ips: [{ version: "6", address: "10.1.2.3/24" }] }, "0.4.0", /"version" "6" does not match/],
    [{ ips: [{ address: "10.1.2.3/24", interface: 1 }] }, "1.0.0", /"interface" 1 is not an index/],
    [{ interfaces: [{ mac: "x" }] }, "1.0.0", /"name" is missing/],
    [{ routes: [{ gw: "10.0.0.1" }] }, "1.0.0", /"dst" must be a CIDR/],
    [{ routes: [{ dst: "0.0.0.0/0", mtu: "9" }] }, "1.1.0", /"mtu" must be an integer/],
    [{ dns: { nameservers: "8.8.8.8" } }, "1.0.0", /"nameservers" must be a list of strings/],
    [{ ip4: { ip: "2001:db8::1/64" } }, "0.2.0", /is not an IPv4 address/],
    [{ ip4: "10.0.0.1/24" }, "0.2.0", /must be an object/],
  ];
  for (const [json, v, re] of cases) {
    throwsCni(t, () => decodeResult(json, v), 6, re, `${JSON.stringify(json)} -> ${re}`);
  }
});

t.test("decodeVersionedResult uses the result's own cniVersion, else the config's", async (t) => {
  const r = decodeVersionedResult({ cniVersion: "0.2.0", ip4: { ip: "10.0.0.2/24" } }, "1.0.0");
  t.equal(r.ips.length, 1);
  const r2 = decodeVersionedResult({ ips: [{ address: "10.0.0.2/24" }] }, "1.0.0");
  t.equal(r2.ips.length, 1);
  throwsCni(t, () => decodeVersionedResult({ cniVersion: "9.9.9" }, "1.0.0"), 1, /unsupported cniVersion "9.9.9"/);
});
