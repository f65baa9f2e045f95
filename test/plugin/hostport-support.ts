// test/plugin/hostport-support: what the host-port tests share: a pod-side echo server (TCP and UDP, both
// families, answering with the address it sees), a client run inside any namespace, and a second "node"
// joined to the host by a veth (host 192.0.2.1 / 2001:db8:9::1, peer .2 / ::2).

import { createNetns, startListener, type Teardownable, type TestNetns } from "../support/netns.js";

export const NODE_V4 = "192.0.2.1";
export const NODE_V6 = "2001:db8:9::1";

const SERVER = `
const net = require("net"), dgram = require("dgram");
const [tcpPort, udpPort] = process.argv.slice(1).map(Number);
net.createServer((s) => s.end("tcp " + s.remoteAddress + "\\n")).listen(tcpPort, "::");
const u = dgram.createSocket({ type: "udp6", ipv6Only: false });
u.on("message", (m, r) => u.send("udp " + r.address + "\\n", r.port, r.address));
u.bind(udpPort, "::", () => console.log("listening"));`;

const CLIENT = `
const net = require("net"), dgram = require("dgram");
const [proto, host, port] = process.argv.slice(1);
const done = (s) => { process.stdout.write(s); process.exit(0); };
setTimeout(() => process.exit(1), 4000);
if (proto === "tcp") {
  const c = net.connect({ host, port: Number(port) });
  let out = ""; c.on("data", (d) => (out += d)); c.on("end", () => done(out)); c.on("error", () => process.exit(1));
} else {
  const c = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  c.on("message", (m) => done(String(m)));
  const send = () => c.send("x", Number(port), host);
  send(); setInterval(send, 500);
}`;

/**
 * Starts the echo server inside `ns` (TCP on tcpPort, UDP on udpPort, both families); killed at teardown, or
 * earlier by the function returned (as a pod's container dies when the pod stops).
 */
export function startEchoServer(t: Teardownable, ns: Pick<TestNetns, "path">, tcpPort: number, udpPort: number): Promise<() => void> {
  return startListener(t, ns, SERVER, [String(tcpPort), String(udpPort)], "the pod's echo server");
}

/** What the server answered ("tcp <addr>" / "udp <addr>"), or undefined when nothing answered in 4 s. */
export function request(from: Pick<TestNetns, "run">, proto: "tcp" | "udp", host: string, port: number): string | undefined {
  const r = from.run(process.execPath, ["-e", CLIENT, proto, host, String(port)]);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** A second "node" joined to `host` by a veth, with addresses of both families; forwarding on in `host`. */
export function createPeerNode(t: Teardownable, host: TestNetns): TestNetns {
  const peer = createNetns(t, "peer");
  host.exec("ip", ["link", "add", "nodeif", "type", "veth", "peer", "name", "peerif", "netns", peer.name]);
  host.exec("ip", ["addr", "add", `${NODE_V4}/24`, "dev", "nodeif"]);
  host.exec("ip", ["addr", "add", `${NODE_V6}/64`, "dev", "nodeif", "nodad"]);
  host.exec("ip", ["link", "set", "nodeif", "up"]);
  peer.exec("ip", ["addr", "add", "192.0.2.2/24", "dev", "peerif"]);
  peer.exec("ip", ["addr", "add", "2001:db8:9::2/64", "dev", "peerif", "nodad"]);
  peer.exec("ip", ["link", "set", "peerif", "up"]);
  host.exec("sysctl", ["-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
  return peer;
}

/** The nat table of one family as rule lines ("-A ..."), for "nothing left" checks and comparisons. */
export function natRules(ns: TestNetns, family: 4 | 6): string[] {
  return ns.exec(family === 4 ? "iptables-save" : "ip6tables-save", ["-t", "nat"]).split("\n").filter((l) => l.startsWith("-A "));
}
