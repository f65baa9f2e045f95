import t from "tap";
import type { NetConf } from "../../core/cni/netconf.js";
import type { Result } from "../../core/cni/result.js";
import { parseCidr } from "../../core/ip-parse.js";
import { containerMacOf, mergeResult } from "./add.js";

const conf = (mac?: string): NetConf => ({ mac } as unknown as NetConf);

t.test("containerMacOf: conf.mac wins over CNI_ARGS MAC=, lower-cased, validated", async (t) => {
  t.equal(containerMacOf(conf("C2:11:22:33:44:55"), new Map([["MAC", "c2:00:00:00:00:01"]])), "c2:11:22:33:44:55");
  t.equal(containerMacOf(conf(), new Map([["MAC", "c2:00:00:00:00:01"]])), "c2:00:00:00:00:01");
  t.equal(containerMacOf(conf(), new Map()), undefined);
  t.throws(() => containerMacOf(conf("c2:11:22:33:44"), new Map()), { code: 7, message: /"c2:11:22:33:44"/ });
  t.throws(() => containerMacOf(conf("01:00:5e:00:00:01"), new Map()), { code: 7, message: /multicast/ });
});

t.test("mergeResult appends our interfaces after prevResult's and shifts our IP indexes", async (t) => {
  const prev: Result = {
    interfaces: [{ name: "lo", sandbox: "/ns" }],
    ips: [{ address: parseCidr("127.0.0.1/8"), interface: 0 }],
    routes: [],
    dns: { nameservers: ["1.1.1.1"] },
  };
  const ours: Result = {
    interfaces: [{ name: "cbr0" }, { name: "veth1" }, { name: "eth0", sandbox: "/ns" }],
    ips: [{ address: parseCidr("10.0.0.2/24"), interface: 2 }],
    routes: [{ dst: parseCidr("0.0.0.0/0") }],
    dns: {},
  };
  const merged = mergeResult(prev, ours);
  t.same(merged.interfaces.map((i) => i.name), ["lo", "cbr0", "veth1", "eth0"]);
  t.same(merged.ips.map((i) => i.interface), [0, 3]);
  t.same(merged.dns, { nameservers: ["1.1.1.1"] }, "prevResult's dns kept when we have none");
  t.equal(mergeResult(undefined, ours), ours);
});
