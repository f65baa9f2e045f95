// End to end, bandwidth in the `kubenet` type: ADD with runtimeConfig.bandwidth shapes both directions
// (TBF on the host veth; IFB + TBF + ingress qdisc + u32/mirred redirect), seen with `tc -j`; CHECK passes,
// then catches a changed qdisc, a missing redirect and a missing IFB; DEL leaves no IFB; GC removes the IFB
// of a dead attachment only; a failed ADD rolls everything back; bad values are refused with the reference's
// messages and nothing made.

import { createHash } from "node:crypto";
import t from "tap";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { errorOf } from "../support/plugin-harness.js";
import { bandwidth, hostVethOf, ifbs, ingressFilters, qdiscs } from "./bandwidth-support.js";
import { cni, containerId, kubenetConf, leases, links, ok, tempDir, withPrev } from "./datapath-support.js";

const LIMITS = bandwidth(10, 50, 2_000_000); // in: 10 Mbit/s, out: 50 Mbit/s, bursts 2 Mbit (250,000 bytes)

t.test("kubenet ADD shapes both directions; CHECK, then CHECK catches changes; DEL leaves no IFB", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.91.0.0/24", extra: LIMITS });
  const id = containerId();
  const add = ok(cni("ADD", { host, netns: pod.path, id, config }));
  const result = add.json as { interfaces: { name: string; mac?: string; sandbox?: string }[] };
  const veth = hostVethOf(result);
  const [ifb] = ifbs(host);
  t.match(ifb, /^bwp[0-9a-f]{12}$/, "an IFB named like the reference's");
  t.ok(result.interfaces.some((i) => i.name === ifb && i.sandbox === undefined && /^[0-9a-f:]{17}$/.test(i.mac ?? "")), "the IFB is in the result");

  const [vq] = qdiscs(host, veth).filter((q) => q.kind === "tbf");
  t.match(vq, { handle: "1:", root: true, options: { rate: 1_250_000, burst: 250_000 } }, "into the pod: 10 Mbit/s on the host veth");
  t.ok(qdiscs(host, veth).some((q) => q.kind === "ingress"), "ingress qdisc on the host veth");
  t.match(ingressFilters(host, veth), [{ kind: "u32", options: { flowid: "1:1", actions: [{ kind: "mirred", mirred_action: "redirect", direction: "egress", to_dev: ifb }] } }]);
  t.match(qdiscs(host, ifb as string).find((q) => q.kind === "tbf"), { options: { rate: 6_250_000, burst: 250_000 } }, "out of the pod: 50 Mbit/s on the IFB");
  const ifbLink = links(host).find((l) => l.ifname === ifb);
  t.equal(ifbLink?.mtu, 1460, "the IFB has the veth's MTU");
  t.match(ifbLink?.ifalias, new RegExp(`^kubenet-bw:kubenet:${id}:eth0$`), "and our alias");

  const checkConf = withPrev(config, add.json);
  ok(cni("CHECK", { host, netns: pod.path, id, config: checkConf }));

  host.exec("tc", ["qdisc", "change", "dev", veth, "root", "handle", "1:", "tbf", "rate", "20mbit", "burst", "250000b", "latency", "25ms"]);
  const changed = cni("CHECK", { host, netns: pod.path, id, config: checkConf });
  t.match(errorOf(changed), { code: 105, msg: /host veth .*TBF rate is 20000000 bit\/s, the config asks 10000000/ }, "CHECK catches a changed rate");
  host.exec("tc", ["qdisc", "change", "dev", veth, "root", "handle", "1:", "tbf", "rate", "10mbit", "burst", "100000b", "latency", "25ms"]);
  t.match(errorOf(cni("CHECK", { host, netns: pod.path, id, config: checkConf })), { code: 105, msg: /TBF (burst|limit)/ }, "CHECK catches a changed burst");
  host.exec("tc", ["qdisc", "change", "dev", veth, "root", "handle", "1:", "tbf", "rate", "10mbit", "burst", "250000b", "limit", "281250b"]);
  ok(cni("CHECK", { host, netns: pod.path, id, config: checkConf }));
  host.exec("tc", ["filter", "del", "dev", veth, "parent", "ffff:"]);
  t.match(errorOf(cni("CHECK", { host, netns: pod.path, id, config: checkConf })), { code: 105, msg: /does not redirect its traffic/ });
  host.exec("ip", ["link", "del", ifb as string]);
  t.match(errorOf(cni("CHECK", { host, netns: pod.path, id, config: checkConf })), { code: 105, msg: /IFB device .* does not exist/ });

  ok(cni("DEL", { host, netns: pod.path, id, config: checkConf }));
  t.same(ifbs(host), [], "no IFB after DEL");
  ok(cni("DEL", { host, netns: pod.path, id, config: checkConf }));
});

t.test("DEL removes the IFB even when the netns is gone and runtimeConfig is absent", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const [pod, plain] = containers as [TestNetns, TestNetns];
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.91.1.0/24", extra: bandwidth(0, 5) });
  const id = containerId();
  const shaped = ok(cni("ADD", { host, netns: pod.path, id, config }));
  t.equal(ifbs(host).length, 1, "egress only: an IFB");
  t.notOk(qdiscs(host, hostVethOf(shaped.json)).some((q) => q.kind === "tbf"), "egress only: no TBF on the host veth");
  const unshaped = ok(cni("ADD", { host, netns: plain.path, id: containerId(), config: kubenetConf({ dataDir, subnet: "10.91.1.0/24" }) }));
  t.notOk(qdiscs(host, hostVethOf(unshaped.json)).some((q) => q.kind === "tbf" || q.kind === "ingress"), "an unshaped pod gets no qdisc");
  t.equal(ifbs(host).length, 1, "and no IFB");
  pod.destroy();
  ok(cni("DEL", { host, netns: undefined, id, config: kubenetConf({ dataDir, subnet: "10.91.1.0/24" }) }));
  t.same(ifbs(host), []);
});

t.test("GC removes the IFBs of dead attachments only, and no IFB it did not make", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.91.2.0/24", extra: bandwidth(0, 5) });
  const ids = [containerId(), containerId()];
  containers.forEach((c, i) => ok(cni("ADD", { host, netns: c.path, id: ids[i] as string, config })));
  host.exec("ip", ["link", "add", "bwpforeign0001", "type", "ifb"]); // e.g. the reference plugin's, no alias
  t.equal(ifbs(host).length, 3);
  const gcConf = { ...config, "cni.dev/valid-attachments": [{ containerID: ids[0], ifname: "eth0" }] };
  ok(cni("GC", { host, netns: undefined, id: "", config: gcConf }));
  const left = ifbs(host);
  t.equal(left.length, 2, "one IFB collected");
  t.ok(left.includes("bwpforeign0001"), "an IFB without our alias is left alone");
});

t.test("a failed ADD rolls back: IFB name taken -> 103, no veth, no lease, no qdisc left", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const dataDir = tempDir(t);
  const config = kubenetConf({ dataDir, subnet: "10.91.3.0/24", extra: LIMITS });
  const id = containerId();
  // The reference's name for this attachment, computed independently: "bwp" + sha512(network + id)[:12].
  const taken = `bwp${createHash("sha512").update(`kubenet${id}`).digest("hex").slice(0, 12)}`;
  host.exec("ip", ["link", "add", taken, "type", "ifb"]);
  const run = cni("ADD", { host, netns: pod.path, id, config });
  t.match(errorOf(run), { code: 103, msg: new RegExp(`IFB device "${taken}" already exists`) });
  t.same(links(pod).map((l) => l.ifname), ["lo"], "no eth0 left in the pod");
  t.same(leases(dataDir), [], "no lease");
  t.equal(links(host).filter((l) => l.linkinfo?.info_kind === "veth").length, 0, "no veth");
  t.same(ifbs(host), [taken], "the IFB that was there before is left alone");
});

t.test("bad bandwidth values: the reference's rules, code 6/7, nothing made", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const dataDir = tempDir(t);
  const cases: [Record<string, unknown>, number, RegExp][] = [
    [{ runtimeConfig: { bandwidth: { ingressRate: 1000000 } } }, 7, /if rate is set, burst must also be set/],
    [{ runtimeConfig: { bandwidth: { egressBurst: 1000000 } } }, 7, /if burst is set, rate must also be set/],
    [{ egressRate: 1000000, egressBurst: 34359738360 }, 7, /burst cannot be more than 4GB/],
    [{ runtimeConfig: { bandwidth: { ingressRate: -5, ingressBurst: 8 } } }, 6, /ingressRate must be a non-negative integer.*-5/],
    [{ runtimeConfig: { bandwidth: { ingressRate: "10M", ingressBurst: 8 } } }, 6, /ingressRate .*"10M"/],
    [{ runtimeConfig: { bandwidth: "fast" } }, 6, /runtimeConfig.bandwidth must be an object/],
    [{ ingressRate: 4, ingressBurst: 800 }, 7, /ingressRate 4 is less than 8 bits per second/],
  ];
  for (const [extra, code, re] of cases) {
    const run = cni("ADD", { host, netns: pod.path, id: containerId(), config: kubenetConf({ dataDir, subnet: "10.91.4.0/24", extra }) });
    t.match(errorOf(run), { code, msg: re }, JSON.stringify(extra));
  }
  t.same(leases(dataDir), [], "no lease");
  t.same(ifbs(host), [], "no IFB");
  t.equal(links(host).filter((l) => l.linkinfo?.info_kind === "veth").length, 0, "no veth");
});
