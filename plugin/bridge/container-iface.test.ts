import t from "tap";
import type { CniRoute, IpConfig } from "../../core/cni/result.js";
import { formatCidr, formatIp } from "../../core/ip.js";
import { parseCidr, parseIp } from "../../core/ip-parse.js";
import { familyGateway, planRoutes, reportedRoutes, routeMatches } from "./container-iface.js";
import type { Route } from "../../native/index.js";

const ip = (address: string, gateway?: string): IpConfig => ({
  address: parseCidr(address),
  ...(gateway ? { gateway: parseIp(gateway) } : {}),
  interface: 2,
});
const route = (dst: string, gw?: string): CniRoute => ({ dst: parseCidr(dst), ...(gw ? { gw: parseIp(gw) } : {}) });
const show = (rs: readonly CniRoute[]): string[] => rs.map((r) => `${formatCidr(r.dst)}${r.gw ? ` via ${formatIp(r.gw)}` : ""}`);

t.test("planRoutes: kubenet's default route named by IPAM and by isDefaultGateway becomes one route", async (t) => {
  const ips = [ip("10.1.0.5/24", "10.1.0.1")];
  t.same(show(planRoutes(ips, [route("0.0.0.0/0")], true)), ["0.0.0.0/0 via 10.1.0.1"]);
  t.same(show(planRoutes(ips, [route("0.0.0.0/0"), route("0.0.0.0/0")], false)), ["0.0.0.0/0 via 10.1.0.1"], "duplicates dropped");
  t.same(show(planRoutes(ips, [], true)), ["0.0.0.0/0 via 10.1.0.1"]);
  t.same(show(planRoutes(ips, [], false)), []);
});

t.test("planRoutes: an IPAM default route with its own gateway wins; other routes get the family gateway", async (t) => {
  const ips = [ip("10.1.0.5/24", "10.1.0.1"), ip("fd00::5/64", "fd00::1")];
  t.same(show(planRoutes(ips, [route("0.0.0.0/0", "10.1.0.254"), route("10.9.0.0/16")], true)), [
    "0.0.0.0/0 via 10.1.0.254",
    "10.9.0.0/16 via 10.1.0.1",
    "::/0 via fd00::1",
  ]);
});

t.test("planRoutes: a family without gateway gets no default route", async (t) => {
  t.same(show(planRoutes([ip("10.1.0.5/24")], [route("10.2.0.0/16")], true)), ["10.2.0.0/16"]);
});

t.test("reportedRoutes: IPAM routes without gw are reported as given, except isDefaultGateway's default route", async (t) => {
  const ips = [ip("10.1.0.5/24", "10.1.0.1")];
  const ipam = [route("0.0.0.0/0"), route("10.9.0.0/16"), route("10.8.0.0/16", "10.1.0.1")];
  t.same(show(reportedRoutes(planRoutes(ips, ipam, false), ipam, false)), ["0.0.0.0/0", "10.9.0.0/16", "10.8.0.0/16 via 10.1.0.1"]);
  t.same(show(reportedRoutes(planRoutes(ips, ipam, true), ipam, true)), ["0.0.0.0/0 via 10.1.0.1", "10.9.0.0/16", "10.8.0.0/16 via 10.1.0.1"]);
  t.same(show(reportedRoutes(planRoutes(ips, [], true), [], true)), ["0.0.0.0/0 via 10.1.0.1"]);
});

t.test("familyGateway picks the first gateway of the family", async (t) => {
  const ips = [ip("fd00::5/64", "fd00::1"), ip("10.1.0.5/24"), ip("10.2.0.5/24", "10.2.0.1")];
  t.equal(formatIp(familyGateway(ips, 4) ?? parseIp("0.0.0.0")), "10.2.0.1");
  t.equal(formatIp(familyGateway(ips, 6) ?? parseIp("::")), "fd00::1");
});

t.test("routeMatches compares dst, gateway, interface and table", async (t) => {
  const kernel = (dst: string | undefined, gw: string | undefined, oif = 3): Route => ({
    family: 4,
    dst: dst === undefined ? undefined : parseCidr(dst),
    gateway: gw === undefined ? undefined : parseIp(gw),
    oif,
    src: undefined,
    table: 254,
    protocol: 4,
    scope: 0,
    type: 1,
    priority: undefined,
    mtu: undefined,
    advmss: undefined,
    attrs: [],
  });
  t.ok(routeMatches(kernel(undefined, "10.1.0.1"), route("0.0.0.0/0", "10.1.0.1"), 3));
  t.notOk(routeMatches(kernel(undefined, "10.1.0.2"), route("0.0.0.0/0", "10.1.0.1"), 3), "other gateway");
  t.notOk(routeMatches(kernel(undefined, "10.1.0.1", 4), route("0.0.0.0/0", "10.1.0.1"), 3), "other interface");
  t.ok(routeMatches(kernel("10.9.0.0/16", "10.1.0.1"), route("10.9.0.0/16"), 3), "no gw wanted: any gw");
  t.notOk(routeMatches(kernel("10.9.0.0/16", "10.1.0.1"), route("10.8.0.0/16"), 3));
});
