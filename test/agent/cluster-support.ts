// test/agent/cluster-support: the article's cluster in throwaway namespaces, for the host-gw end-to-end
// tests. A "VPC" L2 segment 10.0.1.0/24 (a bridge in its own namespace) joins two workers (10.0.1.71,
// 10.0.1.167), a VPC host (10.0.1.50) and a router (10.0.1.1) that leads to an "internet" host
// (203.0.113.10, which knows the way back to the VPC only: pod addresses must be masqueraded to reach
// it). Each worker runs the built agent in Kubernetes mode against the fake API server, which gives it
// its PodCIDR (172.20.1.0/24, 172.20.2.0/24) and InternalIP through Node objects; each has its own CNI
// config and lease directories, and its pod is wired with the conflist that agent wrote, unmodified.

import type { Test } from "tap";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createNetns, type Teardownable, type TestNetns } from "../support/netns.js";
import { DIST, describeRun, runPlugin } from "../support/plugin-harness.js";
import { peerSeen, startAgent, startEchoServer, tempDir, waitFor, type RunningAgent } from "./agent-harness.js";
import { FakeApiServer, kubeconfigFor, linkNodeToApi } from "./fake-apiserver.js";

export const CLUSTER_CIDR = "172.20.0.0/16";
export const INTERNET = "203.0.113.10";
export const VPC_HOST = "10.0.1.50";
const MASQ_CONFIG = "nonMasqueradeCIDRs:\n  - 172.20.0.0/16\n  - 10.0.1.0/24\n";
/** Agents react to Node events, not to the periodic sync; waits are generous for a loaded machine. */
export const WAIT_MS = 180_000;

export interface Worker {
  readonly name: string;
  readonly ip: string;
  readonly podCidr: string;
  readonly ns: TestNetns;
  readonly agent: RunningAgent;
  readonly pod: TestNetns;
  readonly podIp: string;
}

export interface Cluster {
  readonly api: FakeApiServer;
  readonly vpc: TestNetns;
  readonly router: TestNetns;
  readonly internet: TestNetns;
  readonly vpcHost: TestNetns;
  readonly workers: readonly [Worker, Worker];
}

export type Way = "cloud" | "host-gw" | "host-gw-drop";

/** Plugs `ns` into the VPC bridge as eth0 with `cidr`. */
function plug(vpc: TestNetns, ns: TestNetns, cidr: string): void {
  const port = `v${randomBytes(4).toString("hex")}`;
  vpc.exec("ip", ["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns.name]);
  vpc.exec("ip", ["link", "set", port, "master", "br0", "up"]);
  ns.exec("ip", ["addr", "add", cidr, "dev", "eth0"]);
  ns.exec("ip", ["link", "set", "eth0", "up"]);
}

export function pings(from: TestNetns, host: string): boolean {
  return from.run("ping", ["-c", "1", "-W", "3", host]).status === 0;
}

/** Our host-gw routes in a worker (`ip route show proto 107`), as "dst via gw". */
export function ownRoutes(ns: TestNetns): string[] {
  return (ns.ipJson(["route", "show", "proto", "107"]) as { dst: string; gateway?: string }[]).map((r) => `${r.dst} via ${r.gateway ?? "-"}`).sort();
}

function setupNetwork(t: Teardownable): Omit<Cluster, "api" | "workers"> {
  const vpc = createNetns(t, "vpc");
  vpc.exec("ip", ["link", "add", "br0", "type", "bridge"]);
  vpc.exec("ip", ["link", "set", "br0", "up"]);
  const router = createNetns(t, "rtr");
  const internet = createNetns(t, "inet");
  const vpcHost = createNetns(t, "vhost");
  plug(vpc, router, "10.0.1.1/24");
  plug(vpc, vpcHost, `${VPC_HOST}/24`);
  vpcHost.exec("ip", ["route", "add", "default", "via", "10.0.1.1"]);
  router.exec("ip", ["link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", internet.name]);
  router.exec("ip", ["addr", "add", "203.0.113.1/24", "dev", "eth1"]);
  router.exec("ip", ["link", "set", "eth1", "up"]);
  router.exec("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  internet.exec("ip", ["addr", "add", `${INTERNET}/24`, "dev", "eth0"]);
  internet.exec("ip", ["link", "set", "eth0", "up"]);
  // The internet knows the VPC's (NAT) addresses, never the pods'.
  internet.exec("ip", ["route", "add", "10.0.1.0/24", "via", "203.0.113.1"]);
  return { vpc, router, internet, vpcHost };
}

interface WorkerSpec {
  readonly name: string;
  readonly ip: string;
  readonly podCidr: string;
}

export const WORKERS: readonly [WorkerSpec, WorkerSpec] = [
  { name: "w1", ip: "10.0.1.71", podCidr: "172.20.1.0/24" },
  { name: "w2", ip: "10.0.1.167", podCidr: "172.20.2.0/24" },
];

async function startWorker(t: Teardownable, c: { api: FakeApiServer; apiPort: number; vpc: TestNetns }, w: WorkerSpec, way: Way): Promise<Worker> {
  const ns = createNetns(t, w.name);
  plug(c.vpc, ns, `${w.ip}/24`);
  ns.exec("ip", ["route", "add", "default", "via", "10.0.1.1"]);
  if (way === "host-gw-drop") ns.exec("iptables-nft", ["-P", "FORWARD", "DROP"]);
  const dir = tempDir(t, `kt-${w.name}-`);
  // Each worker reaches the API server (listening on every address of the test's sandbox) over its own link.
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigFor({ host: linkNodeToApi(t, ns), port: c.apiPort }));
  writeFileSync(join(dir, "ip-masq-agent"), MASQ_CONFIG);
  c.api.setNode(w.name, { podCIDR: w.podCidr, podCIDRs: [w.podCidr] }, { addresses: [{ type: "InternalIP", address: w.ip }, { type: "Hostname", address: w.name }] });
  const agent = startAgent(t, ns, [
    "--kubeconfig", kubeconfig, "--node-name", w.name, "--cluster-cidr", CLUSTER_CIDR, "--cni-conf-dir", join(dir, "net.d"),
    "--ipam-data-dir", join(dir, "ipam"), "--masq-config", join(dir, "ip-masq-agent"), "--resync-interval", "60s",
    ...(way === "cloud" ? [] : ["--routes", "host-gw"]),
  ]);
  const conflist = join(dir, "net.d", "05-kubenet.conflist");
  await waitFor(`${w.name}: conflist written`, () => existsSync(conflist), WAIT_MS).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; agent log:\n${agent.logs()}`);
  });
  const list = JSON.parse(readFileSync(conflist, "utf8")) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const config = { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] };
  const pod = createNetns(t, `pod-${w.name}`);
  const add = runPlugin({ host: ns, command: "ADD", containerId: randomBytes(32).toString("hex"), netns: pod.path, ifName: "eth0", path: DIST, config });
  if (add.code !== 0) throw new Error(`${w.name}: ADD failed: ${describeRun(add)}`);
  const podIp = ((add.json as { ips: { address: string }[] }).ips[0]?.address ?? "").split("/")[0] ?? "";
  return { ...w, ns, agent, pod, podIp };
}

/** The whole cluster for one way of routing between the nodes. */
export async function startCluster(t: Teardownable, way: Way): Promise<Cluster> {
  const net = setupNetwork(t);
  const api = new FakeApiServer();
  const { port } = await api.listen("0.0.0.0");
  t.teardown(() => api.close());
  const w1 = await startWorker(t, { api, apiPort: port, vpc: net.vpc }, WORKERS[0], way);
  const w2 = await startWorker(t, { api, apiPort: port, vpc: net.vpc }, WORKERS[1], way);
  if (way === "cloud") {
    // The cloud's route table (kube-controller-manager --configure-cloud-routes), here the router's.
    for (const w of [w1, w2]) net.router.exec("ip", ["route", "add", w.podCidr, "via", w.ip]);
  } else {
    // With host-gw, a host outside the cluster needs routes too: the VPC host gets them as an operator adds them.
    for (const w of [w1, w2]) net.vpcHost.exec("ip", ["route", "add", w.podCidr, "via", w.ip]);
  }
  await startEchoServer(t, w2.pod);
  await startEchoServer(t, net.internet);
  await startEchoServer(t, net.vpcHost);
  return { api, ...net, workers: [w1, w2] };
}

/** The article's checks, the same in every way. */
export async function checkTraffic(t: Test, c: Cluster, way: Way): Promise<void> {
  const [w1, w2] = c.workers;
  if (way !== "cloud") {
    await waitFor("host-gw routes on both workers", () => ownRoutes(w1.ns).length === 1 && ownRoutes(w2.ns).length === 1, WAIT_MS);
    t.same(ownRoutes(w1.ns), ["172.20.2.0/24 via 10.0.1.167"], "w1: one route, to w2's PodCIDR via w2");
    t.same(ownRoutes(w2.ns), ["172.20.1.0/24 via 10.0.1.71"], "w2: one route, to w1's PodCIDR via w1");
  } else {
    t.same([ownRoutes(w1.ns), ownRoutes(w2.ns)], [[], []], "--routes off (default): the agents route nothing");
  }
  t.equal(peerSeen(w1.pod, w2.podIp), w1.podIp, "pod on w1 -> echo :8080 in a pod on w2: answered, sees the client pod's own address");
  t.ok(pings(w1.pod, w2.podIp), "pod -> remote pod: ping");
  t.ok(pings(w2.pod, w1.podIp), "and back");
  t.equal(peerSeen(w1.ns, w2.podIp), w1.ip, "node w1 -> remote pod: answered");
  t.ok(pings(w1.ns, w2.podIp), "node -> remote pod: ping");
  t.equal(peerSeen(w1.pod, INTERNET), w1.ip, "pod -> internet: seen with its node's address");
  t.equal(peerSeen(w1.pod, VPC_HOST), w1.podIp, "pod -> VPC host: keeps its own address (nonMasqueradeCIDRs)");
  if (way === "host-gw-drop") {
    for (const w of c.workers) {
      const filter = w.ns.exec("iptables-nft-save", ["-t", "filter"]);
      t.match(filter, /^:FORWARD DROP/m, `${w.name}: the FORWARD policy is still DROP`);
      t.match(filter, /^-A FORWARD .*-j KUBENET-FORWARD$/m, `${w.name}: our chain is jumped to`);
    }
  }
}

/** A third node joins (routes on both others), an off-link one is reported, then both leave. */
export async function checkJoinLeave(t: Test, c: Cluster): Promise<void> {
  const [w1, w2] = c.workers;
  c.api.setNode("w3", { podCIDR: "172.20.3.0/24", podCIDRs: ["172.20.3.0/24"] }, { addresses: [{ type: "InternalIP", address: "10.0.1.200" }] });
  c.api.setNode("far", { podCIDR: "172.20.4.0/24", podCIDRs: ["172.20.4.0/24"] }, { addresses: [{ type: "InternalIP", address: "192.168.50.4" }] });
  const has3 = (w: Worker): boolean => ownRoutes(w.ns).includes("172.20.3.0/24 via 10.0.1.200");
  await waitFor("w3's route on w1 and w2", () => has3(w1) && has3(w2), WAIT_MS);
  t.same(ownRoutes(w1.ns), ["172.20.2.0/24 via 10.0.1.167", "172.20.3.0/24 via 10.0.1.200"], "w1 routes w2 and w3; nothing for the off-link node");
  t.same(ownRoutes(w2.ns), ["172.20.1.0/24 via 10.0.1.71", "172.20.3.0/24 via 10.0.1.200"]);
  await waitFor("off-link node in /healthz", () => JSON.stringify(w1.agent.healthz().body).includes('"reason":"off-link"'), WAIT_MS);
  const health = w1.agent.healthz().body as { routes?: { unrouted: { peer: string; reason: string }[] } };
  t.same(health.routes?.unrouted.map((u) => [u.peer, u.reason]), [["far", "off-link"]], "/healthz names the off-link peer");
  t.equal(w1.agent.metric("kubenet_agent_hostgw_peers_unrouted", 'reason="off-link"'), 1, "and the metric counts it");
  // The log arrives through a pipe this process reads between polls.
  await waitFor("off-link node in the log", () => /Peer is not on a directly connected subnet.*"peer":"far"/.test(w1.agent.logs()), WAIT_MS);
  t.pass("and the log names it");
  c.api.deleteNode("w3");
  c.api.deleteNode("far");
  await waitFor("w3's route gone from w1 and w2", () => !has3(w1) && !has3(w2), WAIT_MS);
  t.same([ownRoutes(w1.ns), ownRoutes(w2.ns)], [["172.20.2.0/24 via 10.0.1.167"], ["172.20.1.0/24 via 10.0.1.71"]], "node removed: its routes removed, the others stay");
}
