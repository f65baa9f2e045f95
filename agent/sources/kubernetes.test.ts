// The Node source on the reflector's list/watch loop, against a scripted ListWatchApi: resume from the last
// resourceVersion, relist on 410, back off on errors. (test/agent/kubernetes-mode.test.ts runs the real client against a test API server.)

import t from "tap";
import { formatCidr } from "../../core/ip.js";
import { nullLogger } from "../log.js";
import { createKubernetesSource } from "./kubernetes.js";
import { parsePodCidrs, podCidrTextsOfNode } from "./pod-cidrs.js";
import { backoffDelay, type ListWatchApi } from "./reflector.js";

/** A list answer narrowed to the node (the field selector): its Node, or none. */
interface NodeListResult {
  readonly node: unknown;
  readonly resourceVersion: string;
}

const node = (rv: string, podCIDRs?: string[]): unknown => ({ metadata: { name: "n1", resourceVersion: rv }, spec: podCIDRs === undefined ? {} : { podCIDR: podCIDRs[0], podCIDRs } });

type Step =
  | { list: NodeListResult | Error }
  | { watch: { events: [string, unknown][]; end?: Error; expectRv: string } };

/** A ListWatchApi that plays `steps` in order, then blocks until aborted. */
function scripted(t: { equal: (found: string, wanted: string, msg: string) => unknown }, steps: Step[]): { api: ListWatchApi; calls: string[] } {
  const calls: string[] = [];
  const next = (): Step | undefined => steps.shift();
  const block = (signal: AbortSignal): Promise<never> => new Promise((_r, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
  return {
    calls,
    api: {
      async list() {
        calls.push("list");
        const s = next();
        if (s === undefined) return new Promise(() => undefined);
        if (!("list" in s)) throw new Error(`expected a list step, got ${JSON.stringify(s)}`);
        if (s.list instanceof Error) throw s.list;
        return { items: s.list.node === undefined ? [] : [s.list.node], resourceVersion: s.list.resourceVersion };
      },
      async watch(rv, onEvent, signal) {
        calls.push(`watch@${rv}`);
        const s = next();
        if (s === undefined) return block(signal);
        if (!("watch" in s)) throw new Error(`expected a watch step, got ${JSON.stringify(s)}`);
        t.equal(rv, s.watch.expectRv, "watch resumes from the right resourceVersion");
        for (const [type, obj] of s.watch.events) onEvent(type, obj);
        if (s.watch.end !== undefined) throw s.watch.end;
      },
    },
  };
}

async function runUntil(source: ReturnType<typeof createKubernetesSource>, cond: () => boolean): Promise<void> {
  const ac = new AbortController();
  const done = source.run(() => undefined, ac.signal);
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await done;
}

t.test("kubernetes source: no PodCIDR => undefined; a MODIFIED event assigns it; events advance the resourceVersion", async (t) => {
  const { api, calls } = scripted(t, [
    { list: { node: node("10"), resourceVersion: "10" } },
    { watch: { events: [["MODIFIED", node("11")], ["MODIFIED", node("12", ["10.244.3.0/24"])], ["BOOKMARK", { metadata: { resourceVersion: "15" } }]], expectRv: "10" } },
    { watch: { events: [], expectRv: "15" } },
  ]);
  let changes = 0;
  const source = createKubernetesSource({ api, nodeName: "n1", log: nullLogger, now: () => 0, sleep: async () => undefined });
  t.equal(await source.current(), undefined);
  const ac = new AbortController();
  const done = source.run(() => changes++, ac.signal);
  await source.synced();
  for (let i = 0; i < 100 && calls.length < 4; i++) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await done;
  t.same((await source.current())?.map(formatCidr), ["10.244.3.0/24"]);
  t.equal(changes, 1);
  t.same(calls.slice(0, 3), ["list", "watch@10", "watch@15"]);
});

t.test("kubernetes source: 410 Gone (ERROR event or HTTP 410) => relist", async (t) => {
  const { api, calls } = scripted(t, [
    { list: { node: node("5", ["10.1.0.0/24"]), resourceVersion: "5" } },
    { watch: { events: [["ERROR", { kind: "Status", code: 410, reason: "Expired" }]], expectRv: "5" } },
    { list: { node: node("90", ["10.2.0.0/24"]), resourceVersion: "90" } },
    { watch: { events: [], end: Object.assign(new Error("Gone"), { statusCode: 410 }), expectRv: "90" } },
    { list: { node: node("91", ["10.2.0.0/24"]), resourceVersion: "91" } },
  ]);
  const source = createKubernetesSource({ api, nodeName: "n1", log: nullLogger, sleep: async () => undefined });
  await runUntil(source, () => calls.length >= 6);
  t.same(calls.slice(0, 6), ["list", "watch@5", "list", "watch@90", "list", "watch@91"]);
  t.same((await source.current())?.map(formatCidr), ["10.2.0.0/24"]);
  t.equal(source.stats.relists, 2);
});

t.test("kubernetes source: API errors back off exponentially (capped) and recover", async (t) => {
  const delays: number[] = [];
  const { api, calls } = scripted(t, [
    { list: Object.assign(new Error("Service Unavailable"), { code: 503 }) },
    { list: new Error("connect ECONNREFUSED") },
    { list: { node: node("1", ["10.9.0.0/24"]), resourceVersion: "1" } },
    { watch: { events: [], end: new Error("socket hang up"), expectRv: "1" } },
    { watch: { events: [["MODIFIED", node("2", ["10.9.0.0/24"])]], expectRv: "1" } },
  ]);
  const source = createKubernetesSource({
    api, nodeName: "n1", log: nullLogger, random: () => 0.5, backoff: { initialMs: 100, maxMs: 250 },
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  await runUntil(source, () => calls.length >= 6);
  t.same(calls.slice(0, 6), ["list", "list", "list", "watch@1", "watch@1", "watch@2"]);
  t.same(delays.slice(0, 3), [100, 200, 100], "100, 200 ms, then reset after a successful list");
  t.equal(source.stats.apiErrors, 3);
  t.equal(backoffDelay(10, { initialMs: 100, maxMs: 250 }, () => 0.5), 250, "capped");
  t.equal(backoffDelay(1, { initialMs: 1000, maxMs: 30_000 }, () => 0), 800, "-20 % jitter");
});

t.test("kubernetes source: a stream that closes at once without events is throttled; a client timeout resumes at once", async (t) => {
  const delays: number[] = [];
  const { api, calls } = scripted(t, [
    { list: { node: node("1", ["10.9.0.0/24"]), resourceVersion: "1" } },
    { watch: { events: [], expectRv: "1" } },
    { watch: { events: [], end: Object.assign(new Error("timeout"), { name: "TimeoutError" }), expectRv: "1" } },
  ]);
  const source = createKubernetesSource({ api, nodeName: "n1", log: nullLogger, random: () => 0.5, now: () => 0, sleep: async (ms) => void delays.push(ms) });
  await runUntil(source, () => calls.length >= 4);
  t.same(calls.slice(0, 4), ["list", "watch@1", "watch@1", "watch@1"]);
  t.same(delays, [500], "one back-off for the immediate close, none for the timeout");
});

t.test("kubernetes source: an invalid PodCIDR is an error until a valid one arrives; node missing => not ready", async (t) => {
  const { api, calls } = scripted(t, [
    { list: { node: undefined, resourceVersion: "3" } },
    { watch: { events: [["ADDED", node("4", ["10.1.2.3/24"])]], expectRv: "3" } },
  ]);
  const source = createKubernetesSource({ api, nodeName: "n1", log: nullLogger, now: () => 0, sleep: async () => undefined });
  await runUntil(source, () => calls.length >= 3);
  await t.rejects(source.current(), { message: /host bits set: did you mean "10.1.2.0\/24"/ });
});

t.test("podCidrTextsOfNode / parsePodCidrs: podCIDRs preferred, validation", async (t) => {
  t.same(podCidrTextsOfNode({ spec: { podCIDR: "10.0.0.0/24", podCIDRs: ["10.0.0.0/24", "fd00::/64"] } }), ["10.0.0.0/24", "fd00::/64"]);
  t.same(podCidrTextsOfNode({ spec: { podCIDR: "10.0.0.0/24" } }), ["10.0.0.0/24"]);
  t.equal(podCidrTextsOfNode({ spec: {} }), undefined);
  t.equal(podCidrTextsOfNode(null), undefined);
  t.throws(() => parsePodCidrs(["10.0.0.0/24", "10.1.0.0/24"]), /two IPv4 ranges/);
  t.throws(() => parsePodCidrs(["10.0.0.0/31"]), /too small/);
  t.throws(() => parsePodCidrs(["nope"]), /Invalid PodCIDR "nope"/);
  t.throws(() => parsePodCidrs([]), /No PodCIDR/);
});
