// Traffic through the agent's datapath: a pod wired by our plugin (dist/kubenet, ADD exactly as a runtime
// does, with the conflist the agent wrote) talks to an "outside" namespace. A TCP server there answers
// with the peer address it sees: the node's address (masqueraded) for an ordinary destination, the pod's
// own address for a destination in nonMasqueradeCIDRs.
//
//   pod (eth0 10.244.1.x) --veth-- [cbr0 10.244.1.1]  node  [ext0 192.0.2.1] --veth-- [eth0 192.0.2.2,
//                                                                                    198.51.100.2] outside

import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { DIST, describeRun, runPlugin } from "../support/plugin-harness.js";
import { peerSeen, runAgentOnce, startEchoServer, tempDir } from "./agent-harness.js";

t.test("traffic: pod -> outside is masqueraded to the node address; nonMasqueradeCIDRs keep the pod address", { skip: KERNEL_SKIP }, async (t) => {
  const node = createNetns(t, "node");
  const pod = createNetns(t, "pod");
  const outside = createNetns(t, "out");
  const dir = tempDir(t);

  // ext0 is the node's uplink (a veth that is nobody's port counts for MTU detection; pod veths do not).
  node.exec("ip", ["link", "add", "ext0", "mtu", "1400", "type", "veth", "peer", "name", "eth0", "mtu", "1400", "netns", outside.name]);
  node.exec("ip", ["addr", "add", "192.0.2.1/24", "dev", "ext0"]);
  node.exec("ip", ["link", "set", "ext0", "up"]);
  node.exec("ip", ["route", "add", "198.51.100.0/24", "via", "192.0.2.2"]);
  outside.exec("ip", ["addr", "add", "192.0.2.2/24", "dev", "eth0"]);
  outside.exec("ip", ["addr", "add", "198.51.100.2/24", "dev", "eth0"]);
  outside.exec("ip", ["link", "set", "eth0", "up"]);
  // Only un-masqueraded replies need a way back to the pod range.
  outside.exec("ip", ["route", "add", "10.244.0.0/16", "via", "192.0.2.1"]);

  writeFileSync(join(dir, "ip-masq-agent"), "nonMasqueradeCIDRs:\n  - 10.244.0.0/16\n  - 198.51.100.0/24\n");
  const agent = runAgentOnce(node, [
    "--static-pod-cidr", "10.244.1.0/24", "--cluster-cidr", "10.244.0.0/16", "--cni-conf-dir", join(dir, "net.d"),
    "--ipam-data-dir", join(dir, "ipam"), "--masq-config", join(dir, "ip-masq-agent"),
  ]);
  t.equal(agent.code, 0, agent.stderr);
  t.equal(agent.report.mtu, 1400, "MTU detected from the uplink ext0");

  // What a runtime does with a conflist: each plugin gets {cniVersion, name} of the list plus its own keys.
  const list = JSON.parse(readFileSync(join(dir, "net.d", "05-kubenet.conflist"), "utf8")) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const config = { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] };
  const id = randomBytes(32).toString("hex");
  const add = runPlugin({ host: node, command: "ADD", containerId: id, netns: pod.path, ifName: "eth0", path: DIST, config });
  t.equal(add.code, 0, `ADD: ${describeRun(add)}`);
  const podIp = ((add.json as { ips: { address: string }[] }).ips[0]?.address ?? "").split("/")[0] ?? "";
  t.match(podIp, /^10\.244\.1\.\d+$/);
  const eth0 = (pod.ipJson(["link", "show", "dev", "eth0"]) as { mtu: number }[])[0];
  t.equal(eth0?.mtu, 1400, "pod MTU from the agent's conflist");

  await startEchoServer(t, outside);

  t.equal(peerSeen(pod, "192.0.2.2"), "192.0.2.1", "ordinary destination: seen with the node's address");
  t.equal(peerSeen(pod, "198.51.100.2"), podIp, "nonMasqueradeCIDRs destination: seen with the pod's address");

  const del = runPlugin({ host: node, command: "DEL", containerId: id, netns: pod.path, ifName: "eth0", path: DIST, config });
  t.equal(del.code, 0, `DEL: ${describeRun(del)}`);
});
