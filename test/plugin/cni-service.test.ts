// The agent's CNI service end to end (kubenet-agent serve in a test "host" namespace, the built executable
// as the client): who it refuses (non-root peers, unknown framing versions) with nothing run; an agent killed
// mid-request gives CNI code 11 and the runtime's DEL leaves nothing; an agent restart during a burst of ADDs
// loses nothing (every ADD succeeds, or fails with 11 and succeeds when retried as a runtime does).

import t from "tap";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import { acquireFileLock } from "../../native/index.js";
import { KERNEL_SKIP, createNetns, type TestNetns } from "../support/netns.js";
import { startCniService, type CniService } from "../support/cni-service.js";
import { AGENT_BIN, KUBENET_BIN, describeRun, errorOf, pluginEnv, type PluginRun } from "../support/plugin-harness.js";
import { cni, cniAsync, containerId, kubenetConf, leases, pool, resultIps, tempDir, vethNames, type Attach, type TapTest } from "./datapath-support.js";

function setup(t: TapTest, subnet: string) {
  const host = createNetns(t, "host");
  const dataDir = tempDir(t);
  const svc = startCniService({ netnsPath: host.path, agentBin: AGENT_BIN, workers: 8, socket: `${tempDir(t)}/run/cni.sock` });
  t.teardown(() => svc.stop("SIGKILL"));
  const config = { ...kubenetConf({ subnet, dataDir }), agentSocket: svc.socket };
  return { host, dataDir, svc, config };
}

function pod(t: TapTest, host: TestNetns, config: unknown): Attach {
  return { host, netns: createNetns(t, "ctr").path, id: containerId(), config };
}

t.test("a peer that is not root is refused and nothing runs", { skip: KERNEL_SKIP }, async (t) => {
  const { host, dataDir, svc, config } = setup(t, "10.61.0.0/24");
  // Loosen the directory and the socket (a misconfiguration): the peer check alone must still refuse.
  chmodSync(dirname(dirname(svc.socket)), 0o755);
  chmodSync(dirname(svc.socket), 0o755);
  chmodSync(svc.socket, 0o666);
  const p = pod(t, host, config);
  const env = Object.entries({ ...pluginEnv({ command: "ADD", containerId: p.id, netns: p.netns, ifName: "eth0" }), KUBENET_DEBUG: "1" }).map(([k, v]) => `${k}=${v}`);
  const r = spawnSync("nsenter", [`--net=${host.path}`, "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i", ...env, KUBENET_BIN], {
    input: JSON.stringify(config),
    encoding: "utf8",
  });
  t.match(r.stderr, /the service refused the request \(reason 2\): peer uid 65534 \(pid \d+\) is not root/, "the client hears why");
  t.not(r.status, 0, "and its in-process fallback, as nobody, cannot do it either");
  t.same(leases(dataDir), [], "no lease");
  t.same(vethNames(host), [], "no veth");
  // The service's log arrives through a pipe this (blocked, then idle) process reads asynchronously.
  for (let i = 0; i < 400 && !/refused a peer that is not root/.test(svc.log()); i++) await new Promise((r) => setTimeout(r, 50));
  t.match(svc.log(), /refused a peer that is not root.*"uid":65534/);
});

/** Sends raw bytes to the service and returns everything it answers before closing. */
function exchange(path: string, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const s = connect(path, () => s.end(bytes));
    s.on("data", (b: Buffer) => out.push(b));
    s.on("error", reject);
    s.on("close", () => resolve(Buffer.concat(out)));
  });
}

t.test("an unknown framing version is refused before anything runs", { skip: KERNEL_SKIP }, async (t) => {
  const { host, dataDir, svc, config } = setup(t, "10.62.0.0/24");
  const p = pod(t, host, config);
  const { encodeRequest, decodeAnswer, REFUSAL } = await import("../../core/cni/wire.js");
  const env = Object.entries(pluginEnv({ command: "ADD", containerId: p.id, netns: p.netns, ifName: "eth0" }));
  const frame = encodeRequest({ invokedAs: "kubenet", env, stdin: Buffer.from(JSON.stringify(config)) });
  frame[4] = 2; // a client from the future
  const answer = decodeAnswer(await exchange(svc.socket, frame));
  t.match(answer, { kind: "refused", reason: REFUSAL.VERSION, message: /version 2 is not supported/ });
  t.same(leases(dataDir), [], "no lease");
  t.same(vethNames(host), [], "no veth");
  // The same request in version 1 runs: the refusal was about the version only.
  frame[4] = 1;
  const ran = decodeAnswer(await exchange(svc.socket, frame));
  t.match(ran, { kind: "result", exitCode: 0 });
  t.equal(leases(dataDir).length, 1);
});

t.test("the agent killed mid-request: code 11, and the runtime's DEL leaves nothing", { skip: KERNEL_SKIP }, async (t) => {
  const { host, dataDir, svc, config } = setup(t, "10.63.0.0/24");
  ok(cni("ADD", pod(t, host, config))); // cbr0 exists, the lease directory too
  // Hold the lease directory's lock so the next ADD waits inside the service.
  const held = acquireFileLock(`${dataDir}/kubenet/lock`, { timeoutMs: 30_000 });
  t.teardown(() => held.release());
  const p = pod(t, host, config);
  const add = cniAsync("ADD", p);
  // Wait until the request is running in the service: one of its threads has the lock file open (and polls it).
  const lockPath = `${dataDir}/kubenet/lock`;
  for (let i = 0; i < 1200 && !hasOpen(svc.child.pid ?? 0, lockPath); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(hasOpen(svc.child.pid ?? 0, lockPath), "the ADD is waiting for the lease lock inside the service");
  svc.child.kill("SIGKILL");
  const r = await add;
  t.equal(r.code, 1, describeRun(r));
  t.equal(errorOf(r)?.code, 11, "CNI code 11: try again");
  t.match(errorOf(r)?.msg ?? "", /accepted the request and then failed.*not run a second time/);
  held.release();
  // The runtime's DEL (no agent now: in-process) cleans up whatever the lost ADD made.
  const del = cni("DEL", p);
  t.equal(del.code, 0, describeRun(del));
  t.equal(leases(dataDir).length, 1, "only the first pod's lease is left");
  t.equal(vethNames(host).length, 1, "only the first pod's veth is left");
  t.same(JSON.parse(spawnSync("nsenter", [`--net=${p.netns}`, "ip", "-j", "addr", "show", "scope", "global"], { encoding: "utf8" }).stdout), [], "nothing in the pod");
});

/** Whether process `pid` has `path` open. */
function hasOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function ok(r: PluginRun): PluginRun {
  if (r.code !== 0) throw new Error(`plugin failed: ${describeRun(r)}`);
  return r;
}

t.test("an agent restart during a burst of ADDs loses nothing", { skip: KERNEL_SKIP, timeout: 600_000 }, async (t) => {
  const { host, dataDir, svc, config } = setup(t, "10.64.0.0/24");
  const pods = Array.from({ length: 24 }, () => pod(t, host, config));
  let successor: CniService | undefined;
  t.teardown(() => successor?.stop("SIGKILL"));
  let done = 0;
  const restart = (async () => {
    while (done < 6) await new Promise((r) => setTimeout(r, 20));
    await svc.stop("SIGTERM"); // what a DaemonSet rollout does; the successor binds the same path
    successor = startCniService({ netnsPath: host.path, agentBin: AGENT_BIN, workers: 8, socket: svc.socket });
  })();
  const retried: string[] = [];
  const adds = await pool(pods, 6, async (p) => {
    let r = await cniAsync("ADD", p);
    if (r.code !== 0 && errorOf(r)?.code === 11) {
      // What a runtime does with a failed sandbox: DEL, then ADD again.
      retried.push(p.id);
      ok(await cniAsync("DEL", p));
      r = await cniAsync("ADD", p);
    }
    done++;
    return r;
  });
  await restart;
  const failed = adds.filter((r) => r.code !== 0);
  t.same(failed.map(describeRun), [], "every ADD succeeded (some perhaps after a code-11 retry)");
  const ips = adds.map((r) => resultIps(r.json)[0]);
  t.equal(new Set(ips).size, pods.length, "distinct addresses");
  t.equal(leases(dataDir).length, pods.length, "one lease per pod, none leaked");
  t.equal(vethNames(host).length, pods.length, "one veth per pod");
  t.ok(successor !== undefined && existsSync(successor.socket), "the successor serves");
  t.comment(`${retried.length} ADD(s) answered 11 across the restart and were retried`);
  const dels = await pool(pods, 8, (p) => cniAsync("DEL", p));
  t.same(dels.filter((r) => r.code !== 0).map(describeRun), []);
  t.same(leases(dataDir), []);
  t.same(vethNames(host), []);
});
