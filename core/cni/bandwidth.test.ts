import t from "tap";
import { bandwidthIsZero, parseBandwidth } from "./bandwidth.js";
import { CniError } from "./errors.js";

const rc = (bw: unknown): Record<string, unknown> => ({ bandwidth: bw });

t.test("runtimeConfig.bandwidth; absent keys are 0; none at all is undefined", async (t) => {
  t.same(parseBandwidth({}, rc({ ingressRate: 8_000_000, ingressBurst: 800_000 })), { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 0, egressBurst: 0 });
  t.equal(parseBandwidth({}, {}), undefined);
  t.equal(parseBandwidth({}, rc(null)), undefined);
  t.ok(bandwidthIsZero(parseBandwidth({}, rc({}))), "an empty object: no limit");
  t.ok(bandwidthIsZero(undefined));
});

t.test("static keys win over runtimeConfig (the reference's getBandwidth)", async (t) => {
  const bw = parseBandwidth({ egressRate: 1_000_000, egressBurst: 100_000 }, rc({ ingressRate: 8_000_000, ingressBurst: 800_000 }));
  t.same(bw, { ingressRate: 0, ingressBurst: 0, egressRate: 1_000_000, egressBurst: 100_000 });
});

t.test("the reference's validation and messages, plus what the kernel would refuse", async (t) => {
  const code = (f: () => unknown): number | undefined => {
    try {
      f();
    } catch (e) {
      return e instanceof CniError ? e.code : -1;
    }
    return undefined;
  };
  t.throws(() => parseBandwidth({}, rc({ ingressRate: 1 })), /runtimeConfig.bandwidth: if rate is set, burst must also be set/);
  t.throws(() => parseBandwidth({ egressBurst: 9 }, {}), /bandwidth \(static keys\): if burst is set, rate must also be set/);
  t.throws(() => parseBandwidth({}, rc({ egressRate: 10, egressBurst: 8 * 0xffffffff })), /burst cannot be more than 4GB/);
  t.doesNotThrow(() => parseBandwidth({}, rc({ egressRate: 10, egressBurst: 8 * 0xffffffff - 1 })), "just under 4 GB");
  t.throws(() => parseBandwidth({}, rc({ ingressRate: 8, ingressBurst: 7 })), /ingressBurst 7 is less than 8 bits/);
  t.equal(code(() => parseBandwidth({}, rc({ ingressRate: 1 }))), 7);
  t.equal(code(() => parseBandwidth({}, rc({ ingressRate: -1, ingressBurst: 8 }))), 6, "negative: decoding failure");
  t.equal(code(() => parseBandwidth({}, rc({ ingressRate: 1.5, ingressBurst: 8 }))), 6, "fraction");
  t.equal(code(() => parseBandwidth({}, rc({ ingressRate: 2 ** 60, ingressBurst: 8 }))), 6, "beyond exact JSON numbers");
  t.equal(code(() => parseBandwidth({}, rc([1]))), 6, "not an object");
});
