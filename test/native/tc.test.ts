// Kernel tests of the tc operations of native/ (qdiscs, u32 + mirred filters, IFB links) in throwaway
// namespaces. Every state change is checked with our decoder and with `tc -j` / `ip -j` as the oracle; and
// our decoder reads back what `tc` itself created.
import t from "tap";
import { KERNEL_SKIP, createNetns, type Teardownable, type TestNetns } from "../support/netns.js";
import {
  ETH_P_ALL,
  NetlinkError,
  TCA_EGRESS_REDIR,
  TC_ACT_STOLEN,
  TC_H_INGRESS,
  TC_H_ROOT,
  openRtnl,
  tbfBurstTolerance,
  tcHandle,
  type Rtnl,
} from "../../native/index.js";
import { ipLink } from "./oracle.js";

interface TcJson {
  kind: string;
  handle?: string;
  options?: Record<string, unknown>;
}
const tcJson = (ns: TestNetns, args: string[]): TcJson[] => JSON.parse(ns.exec("tc", ["-j", ...args]) || "[]") as TcJson[];

function setup(t: Teardownable): { ns: TestNetns; rtnl: Rtnl; veth: number } {
  const ns = createNetns(t, "tc");
  ns.exec("ip", ["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  return { ns, rtnl, veth: rtnl.linkGet("v0").index };
}

const ROOT = { kind: "tbf", parent: TC_H_ROOT, handle: tcHandle(1, 0) } as const;

t.test("ifb: created up with its MTU in one request; EEXIST on a second add", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl } = setup(t);
  const ifb = rtnl.linkAddIfb({ name: "bwp0123456789a", mtu: 1400, up: true });
  t.match(ifb, { name: "bwp0123456789a", kind: "ifb", mtu: 1400, up: true });
  const oracle = ipLink(ns, "bwp0123456789a");
  t.equal(oracle?.linkinfo?.info_kind, "ifb");
  t.equal(oracle?.mtu, 1400);
  t.ok(oracle?.flags?.includes("UP"), "ip sees it UP");
  const err = t.throws(() => rtnl.linkAddIfb({ name: "bwp0123456789a" }));
  t.ok(err instanceof NetlinkError && err.code === "EEXIST");
  rtnl.linkDel(ifb.index);
  t.equal(rtnl.linkFind("bwp0123456789a"), undefined);
});

t.test("tbf: add, read back rate/burst/limit (ours and tc's view), EEXIST, del", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl, veth } = setup(t);
  rtnl.qdiscAdd(veth, { ...ROOT, tbf: { rate: 1_250_000, burst: 125_000, limit: 156_250 } });
  const [q, ...rest] = rtnl.qdiscList(veth);
  t.equal(rest.length, 0, "one qdisc on the veth");
  t.match(q, { index: veth, kind: "tbf", handle: 0x10000, parent: TC_H_ROOT, tbf: { rate: 1_250_000, limit: 156_250 } });
  t.ok(Math.abs((q?.tbf?.burst ?? 0) - 125_000) <= tbfBurstTolerance(1_250_000), `burst ${q?.tbf?.burst} read back`);
  const [o] = tcJson(ns, ["qdisc", "show", "dev", "v0"]);
  t.match(o, { kind: "tbf", handle: "1:", options: { rate: 1_250_000, burst: 125_000 } }, "tc -j agrees");

  const err = t.throws(() => rtnl.qdiscAdd(veth, { ...ROOT, tbf: { rate: 1_000, burst: 1_000, limit: 1_000 } }));
  t.ok(err instanceof NetlinkError && err.code === "EEXIST", `second add: ${String(err)}`);

  rtnl.qdiscDel(veth, { parent: TC_H_ROOT });
  t.notOk(rtnl.qdiscList(veth).some((x) => x.kind === "tbf"), "the tbf is gone");
  const again = t.throws(() => rtnl.qdiscDel(veth, { parent: TC_H_ROOT }));
  t.ok(again instanceof NetlinkError, `deleting twice: ${String(again)}`);
});

t.test("tbf above 2^32 bytes/s: TCA_TBF_RATE64 there and back", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl, veth } = setup(t);
  rtnl.qdiscAdd(veth, { ...ROOT, tbf: { rate: 5_000_000_000, burst: 100_000_000, limit: 225_000_000 } });
  const [q] = rtnl.qdiscList(veth);
  t.equal(q?.tbf?.rate, 5_000_000_000);
  t.equal(q?.tbf?.limit, 225_000_000);
  t.match(tcJson(ns, ["qdisc", "show", "dev", "v0"])[0], { options: { rate: 5_000_000_000 } });
});

t.test("ingress + u32 match-all + mirred redirect to an IFB: decoded and seen by tc", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl, veth } = setup(t);
  const ifb = rtnl.linkAddIfb({ name: "ifb0", up: true });
  const spec = { parent: tcHandle(0xffff, 0), priority: 1, protocol: ETH_P_ALL, classId: tcHandle(1, 1), mirred: { action: TC_ACT_STOLEN, eaction: TCA_EGRESS_REDIR, ifindex: ifb.index } };
  const noQdisc = t.throws(() => rtnl.filterAdd(veth, spec));
  t.ok(noQdisc instanceof NetlinkError, `a filter without its qdisc fails: ${String(noQdisc)}`);
  rtnl.qdiscAdd(veth, { kind: "ingress" });
  t.match(rtnl.qdiscList(veth).find((q) => q.kind === "ingress"), { handle: 0xffff0000, parent: TC_H_INGRESS });
  rtnl.filterAdd(veth, spec);
  const filters = rtnl.filterList(veth, tcHandle(0xffff, 0));
  const rule = filters.find((f) => f.u32?.actions.length === 1);
  t.match(rule, {
    kind: "u32",
    priority: 1,
    protocol: ETH_P_ALL,
    u32: { keys: [{ mask: 0, value: 0 }], classId: 0x10001, actions: [{ kind: "mirred", mirred: { eaction: TCA_EGRESS_REDIR, ifindex: ifb.index, action: TC_ACT_STOLEN } }] },
  });
  t.ok(filters.some((f) => f.u32?.divisor !== undefined), "the kernel's own hash table entry decodes too");
  const o = tcJson(ns, ["filter", "show", "dev", "v0", "parent", "ffff:"]).find((f) => f.options?.["actions"] !== undefined);
  t.match(o?.options, { flowid: "1:1", actions: [{ kind: "mirred", mirred_action: "redirect", direction: "egress", to_dev: "ifb0" }] }, "tc -j agrees");

  rtnl.filterDel(veth, { parent: tcHandle(0xffff, 0), priority: 1, protocol: ETH_P_ALL });
  t.same(rtnl.filterList(veth, tcHandle(0xffff, 0)), [], "filterDel removed the priority");
  rtnl.qdiscDel(veth, { parent: TC_H_INGRESS, handle: tcHandle(0xffff, 0), kind: "ingress" });
  t.notOk(rtnl.qdiscList(veth).some((q) => q.kind === "ingress"));
});

t.test("our decoder reads what tc itself created", { skip: KERNEL_SKIP }, async (t) => {
  const { ns, rtnl, veth } = setup(t);
  ns.exec("ip", ["link", "add", "ifb9", "type", "ifb"]);
  ns.exec("tc", ["qdisc", "add", "dev", "v0", "root", "handle", "1:", "tbf", "rate", "50mbit", "burst", "64kb", "latency", "25ms"]);
  ns.exec("tc", ["qdisc", "add", "dev", "v0", "handle", "ffff:", "ingress"]);
  ns.exec("tc", ["filter", "add", "dev", "v0", "parent", "ffff:", "protocol", "all", "prio", "1", "u32", "match", "u32", "0", "0", "flowid", "1:1", "action", "mirred", "egress", "redirect", "dev", "ifb9"]);
  const tbf = rtnl.qdiscList(veth).find((q) => q.kind === "tbf");
  t.equal(tbf?.tbf?.rate, 6_250_000, "50mbit = 6,250,000 bytes/s");
  t.ok(Math.abs((tbf?.tbf?.burst ?? 0) - 65_536) <= tbfBurstTolerance(6_250_000), `64kb burst read back as ${tbf?.tbf?.burst}`);
  t.equal(tbf?.tbf?.limit, Math.trunc(6_250_000 * 0.025) + 65_536, "limit from latency, as tc computes it");
  const f = rtnl.filterList(veth, tcHandle(0xffff, 0)).find((x) => x.u32?.actions.length === 1);
  t.equal(f?.u32?.actions[0]?.mirred?.ifindex, rtnl.linkGet("ifb9").index);
});
