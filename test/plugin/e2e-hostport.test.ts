// Host ports end to end, in throwaway namespaces: the kubenet type with runtimeConfig.portMappings (TCP and
// UDP, IPv4 and IPv6) reached from another "node", from the node itself (127.0.0.1 and its own addresses)
// and from the pod itself (hairpin); CHECK; DEL without runtimeConfig leaves nothing answering and no rule;
// GC; and the portmap drop-in against Debian's /usr/lib/cni/portmap: same rules, each DELs the other's.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { KERNEL_SKIP, createTopology, type TestNetns } from "../support/netns.js";
import { DIST, REF_PLUGIN_DIR } from "../support/plugin-harness.js";
import { cni, containerId, kubenetConf, ok, resultIps, stripPrefix, tempDir, withPrev, type Attach } from "./datapath-support.js";
import { NODE_V4, NODE_V6, createPeerNode, natRules, request, startEchoServer } from "./hostport-support.js";

const MAPPINGS = [
  { hostPort: 8080, containerPort: 80, protocol: "tcp" },
  { hostPort: 8081, containerPort: 81, protocol: "udp" },
];
const PORTMAP_BIN = join(DIST, "portmap");
const REF_PORTMAP = join(REF_PLUGIN_DIR, "portmap");

function dualStackConf(dataDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return kubenetConf({
    dataDir,
    ranges: [[{ subnet: "10.77.1.0/24" }], [{ subnet: "fd77:1::/64" }]],
    routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
    extra,
  });
}

const ours = (rules: string[]): string[] => rules.filter((l) => /CNI-(DN|HOSTPORT)/.test(l));
const podRules = (host: TestNetns, family: 4 | 6): string[] => natRules(host, family).filter((l) => /CNI-DN-/.test(l));

t.test("kubenet type: TCP and UDP host ports from another node, the node, 127.0.0.1 and hairpin; DEL without runtimeConfig", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const peer = createPeerNode(t, host);
  const dataDir = tempDir(t);
  const id = containerId();
  const config = dualStackConf(dataDir, { runtimeConfig: { portMappings: MAPPINGS } });
  const at: Attach = { host, netns: pod.path, id, config };
  const res = ok(cni("ADD", at)).json;
  t.same(resultIps(res).map(stripPrefix), ["10.77.1.2", "fd77:1::2"]);
  await startEchoServer(t, pod, 80, 81);

  for (const [proto, port] of [["tcp", 8080], ["udp", 8081]] as const) {
    t.equal(request(peer, proto, NODE_V4, port), `${proto} ::ffff:192.0.2.2`, `${proto} v4 from another node (source kept)`);
    t.equal(request(peer, proto, NODE_V6, port), `${proto} 2001:db8:9::2`, `${proto} v6 from another node`);
    t.equal(request(host, proto, "127.0.0.1", port), `${proto} ::ffff:10.77.1.1`, `${proto} from the node's 127.0.0.1 (masqueraded, route_localnet)`);
    t.ok(request(host, proto, NODE_V4, port)?.startsWith(proto), `${proto} from the node to its own v4 address`);
    t.ok(request(host, proto, NODE_V6, port)?.startsWith(proto), `${proto} from the node to its own v6 address`);
    t.equal(request(pod, proto, NODE_V4, port), `${proto} ::ffff:10.77.1.1`, `${proto} hairpin v4: the pod reaches itself, masqueraded`);
    t.equal(request(pod, proto, NODE_V6, port), `${proto} fd77:1::1`, `${proto} hairpin v6`);
  }
  t.equal(host.exec("cat", ["/proc/sys/net/ipv4/conf/cbr0/route_localnet"]).trim(), "1");
  t.equal(podRules(host, 4).length, 2 + 3 + 3, "v4: an entry rule per protocol; hairpin mark, localhost mark, DNAT per mapping");
  t.equal(podRules(host, 6).length, 2 + 2 + 2, "v6: no localhost rule");
  ok(cni("CHECK", { ...at, config: withPrev(config, res) }));
  t.same(readdirSync(join(dataDir, "kubenet", "kubenet-hostports")), [id], "the record of what ADD set up");

  // DEL as a runtime that lost the capability args: no runtimeConfig at all.
  ok(cni("DEL", { ...at, config: dualStackConf(dataDir) }));
  for (const [proto, port] of [["tcp", 8080], ["udp", 8081]] as const) {
    t.equal(request(peer, proto, NODE_V4, port), undefined, `${proto}: nothing answers after DEL`);
  }
  t.same(podRules(host, 4), [], "no v4 rule of the pod left");
  t.same(podRules(host, 6), [], "no v6 rule of the pod left");
  t.notOk(existsSync(join(dataDir, "kubenet", "kubenet-hostports", id)), "record removed");
});

t.test("kubenet type: a second pod (shared chains in place: one transaction), its DEL and ADD again, DELs that leave the other pod's ports", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 2);
  const [a, b] = containers as [TestNetns, TestNetns];
  const peer = createPeerNode(t, host);
  const dataDir = tempDir(t);
  const [idA, idB] = [containerId(), containerId()];
  const confA = dualStackConf(dataDir, { runtimeConfig: { portMappings: MAPPINGS } });
  const confB = dualStackConf(dataDir, { runtimeConfig: { portMappings: [{ hostPort: 9080, containerPort: 80, protocol: "tcp" }] } });
  ok(cni("ADD", { host, netns: a.path, id: idA, config: confA }));
  const resB = ok(cni("ADD", { host, netns: b.path, id: idB, config: confB })).json;
  await startEchoServer(t, a, 80, 81);
  await startEchoServer(t, b, 80, 81);
  t.equal(request(peer, "tcp", NODE_V4, 8080), "tcp ::ffff:192.0.2.2", "pod a's port");
  t.equal(request(peer, "tcp", NODE_V6, 9080), "tcp 2001:db8:9::2", "pod b's port (v6)");
  // b again after its DEL: the one-transaction ADD once more (the shared chains stay), and CHECK agrees.
  ok(cni("DEL", { host, netns: b.path, id: idB, config: withPrev(confB, resB) }));
  const again = ok(cni("ADD", { host, netns: b.path, id: idB, config: confB })).json;
  ok(cni("CHECK", { host, netns: b.path, id: idB, config: withPrev(confB, again) }));
  ok(cni("DEL", { host, netns: a.path, id: idA, config: confA }));
  t.equal(request(peer, "tcp", NODE_V4, 8080), undefined, "a's port is gone");
  t.equal(request(peer, "tcp", NODE_V4, 9080), "tcp ::ffff:192.0.2.2", "b's port still answers");
  ok(cni("DEL", { host, netns: b.path, id: idB, config: dualStackConf(dataDir) }));
  t.same(podRules(host, 4), [], "no v4 pod rule left");
  t.same(podRules(host, 6), [], "no v6 pod rule left");
  t.equal(natRules(host, 4).filter((l) => l.startsWith("-A CNI-HOSTPORT-DNAT ")).length, 0, "no entry jump left");
});

t.test("kubenet type: GC removes the host-port chain of an attachment that is not valid", { skip: KERNEL_SKIP }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const dataDir = tempDir(t);
  const id = containerId();
  const config = dualStackConf(dataDir, { runtimeConfig: { portMappings: MAPPINGS } });
  ok(cni("ADD", { host, netns: containers[0]?.path, id, config }));
  t.not(podRules(host, 4).length, 0);
  ok(cni("GC", { host, netns: undefined, id: "", config: { ...dualStackConf(dataDir), "cni.dev/valid-attachments": [] } }));
  t.same(podRules(host, 4), [], "v4 chain and jumps gone");
  t.same(podRules(host, 6), [], "v6 chain and jumps gone");
});

t.test("portmap drop-in vs Debian's portmap: identical rules; each DELs the other's; traffic through ours", { skip: KERNEL_SKIP || (!existsSync(REF_PORTMAP) && "Debian's portmap is not installed") }, async (t) => {
  const { host, containers } = createTopology(t, 1);
  const pod = containers[0] as TestNetns;
  const peer = createPeerNode(t, host);
  const dataDir = tempDir(t);
  const id = containerId();
  const res = ok(cni("ADD", { host, netns: pod.path, id, config: dualStackConf(dataDir) })).json as Record<string, unknown>;
  const pm = (extra: Record<string, unknown> = {}) => ({ cniVersion: "1.0.0", name: "kubenet", type: "portmap", prevResult: { ...res, cniVersion: "1.0.0" }, ...extra });
  const withMaps = pm({ runtimeConfig: { portMappings: MAPPINGS } });
  const at = (bin: string, config: unknown): Attach => ({ host, netns: pod.path, id, config, bin });
  await startEchoServer(t, pod, 80, 81);

  ok(cni("ADD", at(REF_PORTMAP, withMaps)));
  const refRules = { 4: ours(natRules(host, 4)), 6: ours(natRules(host, 6)) };
  ok(cni("DEL", at(PORTMAP_BIN, pm())));
  t.same(podRules(host, 4), [], "ours removed the reference's v4 rules (without runtimeConfig)");
  t.same(podRules(host, 6), [], "and its v6 rules");

  ok(cni("ADD", at(PORTMAP_BIN, withMaps)));
  t.same(ours(natRules(host, 4)).sort(), [...refRules[4]].sort(), "v4: exactly the reference's rules");
  t.same(ours(natRules(host, 6)).sort(), [...refRules[6]].sort(), "v6: exactly the reference's rules");
  ok(cni("CHECK", at(PORTMAP_BIN, withMaps)));
  // (Debian's v1.1.1 CHECK is not run: it looks for the IPv4 rules in the ip6tables table and always fails.)
  t.equal(request(peer, "tcp", NODE_V4, 8080), "tcp ::ffff:192.0.2.2", "tcp through our drop-in");
  t.equal(request(peer, "udp", NODE_V6, 8081), "udp 2001:db8:9::2", "udp v6 through our drop-in");
  ok(cni("DEL", at(REF_PORTMAP, withMaps)));
  t.same(podRules(host, 4), [], "the reference removed ours (v4)");
  t.same(podRules(host, 6), [], "the reference removed ours (v6)");
  t.equal(request(peer, "tcp", NODE_V4, 8080), undefined, "nothing answers");
});
