// DEL cleans up whatever its input looks like: for every malformed shape of prevResult (and of the other
// hints a DEL does not need: dns, runtimeConfig, args, routes, bridge keys, CNI_ARGS...), a DEL after a
// real ADD exits 0, logs what it ignored, and leaves no lease, no host veth and no pod interface behind.
// The same DELs through dist/host-local (no kernel) release the lease too. (core/cni/netconf.test.ts: ADD
// with the same input still fails; strict parsing is for ADD/CHECK, DEL only needs to find the pod's state.)

import t from "tap";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { HOST_LOCAL_BIN, describeRun, runPlugin } from "../support/plugin-harness.js";
import { MALFORMED_HINTS, MALFORMED_PREV_RESULTS } from "../support/malformed-inputs.js";
import { cni, containerId, kubenetConf, leases, link, ok, tempDir, vethNames } from "./datapath-support.js";

const ADD_TIMEOUT = { timeoutMs: 120_000 };

// Kernel part: every hint, every third prevResult shape (all shapes: the host-local run below and the unit tests).
t.test("DEL after ADD with a malformed prevResult or hint releases everything", { skip: KERNEL_SKIP, timeout: 900_000 }, async (t) => {
  const host = createNetns(t, "host");
  const pod = createNetns(t, "pod");
  const dataDir = tempDir(t);
  const base = kubenetConf({ subnet: "10.93.0.0/24", dataDir });
  const cases: [string, Record<string, unknown>, string | undefined][] = [
    ...MALFORMED_PREV_RESULTS.filter((_, i) => i % 3 === 0).map(([name, prev]): [string, Record<string, unknown>, string | undefined] => [`prevResult ${name}`, { prevResult: prev }, undefined]),
    ...MALFORMED_HINTS.map(([name, over]): [string, Record<string, unknown>, string | undefined] => [name, over, undefined]),
    ["ipam routes a string", { ipam: { ...(base["ipam"] as object), routes: "default" } }, undefined],
    ["ipam ranges garbage", { ipam: { ...(base["ipam"] as object), ranges: "10.93.0.0/24" } }, undefined],
    ["CNI_ARGS malformed", {}, "IP=10.93.0.9;garbage"],
    ["CNI_ARGS with unknown keys", {}, "FOO=1"],
  ];
  for (const [name, over, args] of cases) {
    const id = containerId();
    const add = ok(cni("ADD", { host, netns: pod.path, id, config: base }));
    t.equal(leases(dataDir).length, 1, `${name}: ADD leased one address${add.code === 0 ? "" : describeRun(add)}`);
    const del = cni("DEL", { host, netns: pod.path, id, config: { ...base, ...over }, ...(args !== undefined ? { args } : {}) });
    t.equal(del.code, 0, `${name}: DEL exits 0${del.code === 0 ? "" : describeRun(del)}`);
    t.match(del.stderr, /WARN .*ignoring/, `${name}: DEL logs what it ignored`);
    t.same(leases(dataDir), [], `${name}: no lease left`);
    t.same(vethNames(host), [], `${name}: no host veth left`);
    t.equal(link(pod, "eth0"), undefined, `${name}: no eth0 left in the pod`);
  }
});

t.test("the same DELs through dist/host-local release the lease", { timeout: 900_000 }, async (t) => {
  const dataDir = tempDir(t);
  const config = {
    cniVersion: "1.0.0",
    name: "kubenet",
    type: "host-local",
    ipam: { type: "host-local", ranges: [[{ subnet: "10.94.0.0/24" }]], dataDir },
  };
  const base = { netns: "/x", ifName: "eth0", path: "/opt/cni/bin", bin: HOST_LOCAL_BIN };
  for (const [name, prev] of MALFORMED_PREV_RESULTS) {
    const id = `hl-${containerId().slice(0, 12)}`;
    const add = runPlugin({ ...base, command: "ADD", containerId: id, config, ...ADD_TIMEOUT });
    t.equal(add.code, 0, `${name}: ADD${add.code === 0 ? "" : describeRun(add)}`);
    const del = runPlugin({ ...base, command: "DEL", containerId: id, config: { ...config, prevResult: prev }, ...ADD_TIMEOUT });
    t.equal(del.code, 0, `${name}: DEL exits 0${del.code === 0 ? "" : describeRun(del)}`);
    t.match(del.stderr, /ignoring a malformed field: prevResult/, `${name}: logged`);
    t.same(leases(dataDir), [], `${name}: no lease left`);
  }
});
