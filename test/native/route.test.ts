// Kernel tests of the route operations of native/ in throwaway namespaces (our decoder + `ip -j`).
import t from "tap";
import { formatCidr, formatIp } from "../../core/ip.js";
import { parseCidr, parseIp } from "../../core/ip-parse.js";
import {
  IFA_F_NODAD,
  NetlinkError,
  RTN_UNICAST,
  RTPROT_BOOT,
  RTPROT_STATIC,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  isErrno,
  openRtnl,
  type Route,
} from "../../native/index.js";
import { KERNEL_SKIP, type Teardownable, createNetns } from "../support/netns.js";
import { ip6Routes, ipRoutes } from "./oracle.js";

function setup(t: Teardownable) {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  const eth = rtnl.linkAddVeth({ name: "eth0", peerName: "eth0p" });
  rtnl.linkSetUp(eth.index);
  rtnl.linkSetUp(rtnl.linkGet("eth0p").index);
  rtnl.addrAdd(eth.index, parseCidr("10.244.0.5/24"));
  rtnl.addrAdd(eth.index, parseCidr("fd00:1::5/64"), { flags: IFA_F_NODAD });
  return { ns, rtnl, eth };
}

const show = (r: Route | undefined): string => (r?.dst === undefined ? "default" : formatCidr(r.dst));

t.test("IPv4 default route via a gateway, with MTU and advmss metrics", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl, eth } = setup(t);
  rtnl.routeAdd({ gateway: parseIp("10.244.0.1"), mtu: 1400, advmss: 1360 });
  const def = rtnl.routeList({ family: 4, table: RT_TABLE_MAIN }).find((r) => r.dst === undefined);
  t.ok(def, "default route listed");
  t.equal(def && formatIp(def.gateway ?? parseIp("0.0.0.0")), "10.244.0.1");
  t.equal(def?.oif, eth.index);
  t.equal(def?.protocol, RTPROT_BOOT);
  t.equal(def?.scope, RT_SCOPE_UNIVERSE);
  t.equal(def?.type, RTN_UNICAST);
  t.equal(def?.table, RT_TABLE_MAIN);
  t.equal(def?.mtu, 1400);
  t.equal(def?.advmss, 1360);
  const o = ipRoutes(ns).find((r) => r.dst === "default");
  t.equal(o?.gateway, "10.244.0.1");
  t.equal(o?.dev, "eth0");
  t.equal(o?.protocol ?? "boot", "boot", "ip -j omits protocol boot");
  t.same(o?.metrics, [{ mtu: 1400, advmss: 1360 }]);

  const dup = t.throws(() => rtnl.routeAdd({ gateway: parseIp("10.244.0.1") }));
  t.ok(dup instanceof NetlinkError && dup.code === "EEXIST" && dup.op === "RTM_NEWROUTE", String(dup));
  rtnl.routeReplace({ gateway: parseIp("10.244.0.2") });
  t.equal(ipRoutes(ns).find((r) => r.dst === "default")?.gateway, "10.244.0.2");
  rtnl.routeDel({ family: 4 });
  t.equal(ipRoutes(ns).find((r) => r.dst === "default"), undefined);
  const gone = t.throws(() => rtnl.routeDel({ family: 4 }));
  t.ok(gone instanceof NetlinkError && gone.code === "ESRCH" && gone.op === "RTM_DELROUTE", String(gone));
  // A gateway that is not on any connected subnet: ENETUNREACH.
  t.ok(isErrno(t.throws(() => rtnl.routeAdd({ gateway: parseIp("192.0.2.1") })), "ENETUNREACH"));
});

t.test("IPv6 default route via a gateway", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl, eth } = setup(t);
  rtnl.routeAdd({ gateway: parseIp("fd00:1::1"), oif: eth.index });
  const def = rtnl.routeList({ family: 6, table: RT_TABLE_MAIN }).find((r) => r.dst === undefined);
  t.equal(def && def.gateway && formatIp(def.gateway), "fd00:1::1");
  t.equal(def?.oif, eth.index);
  const o = ip6Routes(ns).find((r) => r.dst === "default");
  t.equal(o?.gateway, "fd00:1::1");
  t.equal(o?.dev, "eth0");
  rtnl.routeDel({ family: 6, gateway: parseIp("fd00:1::1") });
  t.equal(ip6Routes(ns).find((r) => r.dst === "default"), undefined);
  const gone = t.throws(() => rtnl.routeDel({ family: 6 }));
  // Kernel surprise: IPv6 answers ENOENT, not ESRCH, when no route at all exists for the prefix (here ::/0).
  t.ok(isErrno(gone, "ENOENT"), String(gone));
  t.ok(isErrno(t.throws(() => rtnl.routeDel({ dst: parseCidr("fd00:99::/64") })), "ESRCH"));
});

t.test("device routes, priority, protocol, a table above 255", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl, eth } = setup(t);
  rtnl.routeAdd({ dst: parseCidr("10.96.0.0/12"), oif: eth.index, priority: 100, protocol: RTPROT_STATIC });
  const r = rtnl.routeList({ family: 4 }).find((x) => show(x) === "10.96.0.0/12");
  t.equal(r?.oif, eth.index);
  t.equal(r?.scope, RT_SCOPE_LINK, "no gateway: scope link");
  t.equal(r?.priority, 100);
  t.equal(r?.protocol, RTPROT_STATIC);
  const o = ipRoutes(ns).find((x) => x.dst === "10.96.0.0/12");
  t.equal(o?.dev, "eth0");
  t.equal(o?.scope, "link");
  t.equal(o?.metric, 100);
  t.equal(o?.protocol, "static");

  rtnl.routeAdd({ dst: parseCidr("fd00:99::/64"), oif: eth.index, priority: 50 });
  t.ok(rtnl.routeList({ family: 6 }).some((x) => show(x) === "fd00:99::/64" && x.priority === 50));
  t.ok(ip6Routes(ns).some((x) => x.dst === "fd00:99::/64" && x.metric === 50));

  rtnl.routeAdd({ dst: parseCidr("10.50.0.0/16"), gateway: parseIp("10.244.0.1"), table: 1000, src: parseIp("10.244.0.5") });
  const inTable = rtnl.routeList({ table: 1000 });
  t.same(inTable.map(show), ["10.50.0.0/16"]);
  t.equal(inTable[0]?.table, 1000);
  t.equal(inTable[0]?.src && formatIp(inTable[0].src), "10.244.0.5");
  const o2 = ipRoutes(ns, ["table", "1000"]);
  t.same(o2.map((x) => [x.dst, x.gateway, x.prefsrc]), [["10.50.0.0/16", "10.244.0.1", "10.244.0.5"]]);
  t.equal(rtnl.routeList({ table: RT_TABLE_MAIN }).find((x) => show(x) === "10.50.0.0/16"), undefined);

  // Delete with a wrong metric does not match; with the right one it does.
  t.ok(isErrno(t.throws(() => rtnl.routeDel({ dst: parseCidr("10.96.0.0/12"), priority: 7 })), "ESRCH"));
  rtnl.routeDel({ dst: parseCidr("10.96.0.0/12"), priority: 100 });
  t.equal(ipRoutes(ns).find((x) => x.dst === "10.96.0.0/12"), undefined);
  rtnl.routeDel({ dst: parseCidr("10.50.0.0/16"), table: 1000 });
  t.same(ipRoutes(ns, ["table", "1000"]), []);
});

t.test("routeList matches ip -j for the main table, filtered by device", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl, eth } = setup(t);
  rtnl.routeAdd({ gateway: parseIp("10.244.0.1") });
  rtnl.routeAdd({ dst: parseCidr("172.16.0.0/16"), oif: eth.index });
  const ours = rtnl.routeList({ family: 4, table: RT_TABLE_MAIN }).map(show).sort();
  const theirs = ipRoutes(ns).map((r) => r.dst).sort();
  t.same(ours, theirs);
  const byDev = rtnl.routeList({ family: 4, oif: eth.index }).filter((r) => r.table === RT_TABLE_MAIN).map(show).sort();
  t.same(byDev, ipRoutes(ns, ["dev", "eth0"]).map((r) => r.dst).sort());
});
