import t from "tap";
import { ifbAlias, ifbDeviceName, shapingPlan, tbfFor } from "./plan.js";

t.test("tbfFor: the reference's maths (rate/8, burst/8, limit = rate x 25 ms + burst)", async (t) => {
  t.same(tbfFor(10_000_000, 1_000_000), { rate: 1_250_000, burst: 125_000, limit: 31_250 + 125_000 });
  t.same(tbfFor(50_000_000, 2_000_000), { rate: 6_250_000, burst: 250_000, limit: 156_250 + 250_000 });
  // containerd's default burst for an annotation: 2^32 - 1 bits. The bucket is capped at 2^32 ns of the rate,
  // as the kernel holds it (and as the Go reference ends up with); the limit keeps the reference's formula.
  const huge = tbfFor(10_000_000, 0xffffffff);
  t.equal(huge.burst, Math.floor((1_250_000 * 0xffffffff) / 1e9), "about 4.29 s of 10 Mbit/s");
  t.equal(huge.limit, 31_250 + Math.floor(0xffffffff / 8));
  t.equal(tbfFor(8e12, 8 * 0xfffffffe).limit, 0xffffffff, "a limit beyond 32 bits is clamped, not wrapped");
});

t.test("shapingPlan: a direction is shaped only with both rate and burst", async (t) => {
  const p = shapingPlan({ ingressRate: 10_000_000, ingressBurst: 1_000_000, egressRate: 0, egressBurst: 0 });
  t.ok(p.ingress);
  t.equal(p.egress, undefined);
});

t.test("IFB name as the reference computes it; alias names the attachment", async (t) => {
  // "bwp" + sha512("kubenet" + "abc") in hex, cut to 15 characters (echo -n kubenetabc | sha512sum).
  t.equal(ifbDeviceName("kubenet", "abc"), "bwpea1e0c284387");
  t.equal(ifbDeviceName("net", "x".repeat(64)).length, 15);
  t.equal(ifbAlias("kubenet", "abc", "eth0"), "kubenet-bw:kubenet:abc:eth0");
});
