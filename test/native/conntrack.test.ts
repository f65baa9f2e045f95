// Kernel test of native/conntrack: UDP entries made by real traffic in a throwaway namespace are deleted by
// destination port (only that port, only that protocol and family), and a second delete finds none.
import t from "tap";
import { IPPROTO_TCP, IPPROTO_UDP, conntrackDeleteByDstPort } from "../../native/index.js";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";

t.test("conntrackDeleteByDstPort: only the given protocol, family and port", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  // Conntrack hooks register on demand: a nat table in use turns tracking on in this namespace.
  ns.exec("iptables", ["-t", "nat", "-A", "OUTPUT", "-p", "udp", "--dport", "9", "-j", "DNAT", "--to-destination", "127.0.0.1:10"]);
  ns.exec("ip6tables", ["-t", "nat", "-A", "OUTPUT", "-p", "udp", "--dport", "9", "-j", "DNAT", "--to-destination", "[::1]:10"]);
  // /proc/net/nf_conntrack is the oracle: wait until the kernel tracks all three flows.
  const tracked = (): string => ns.exec("cat", ["/proc/net/nf_conntrack"]);
  for (let i = 0; i < 50; i++) {
    for (const [host, port] of [["127.0.0.1", 5353], ["127.0.0.1", 5354], ["::1", 5353]] as const) {
      ns.run("bash", ["-c", `echo x > /dev/udp/${host}/${port}`]);
    }
    if (tracked().split("\n").filter((l) => /udp .* dport=535[34] /.test(l)).length >= 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(tracked().split("\n").filter((l) => /udp .* dport=535[34] /.test(l)).length, 3, "three flows tracked");
  const del = (family: 4 | 6, protocol: number, port: number): number =>
    conntrackDeleteByDstPort({ family, protocol, dstPorts: [port], netnsPath: ns.path });
  t.equal(del(4, IPPROTO_TCP, 5353), 0, "TCP: none");
  t.equal(del(4, IPPROTO_UDP, 5353), 1, "the IPv4 UDP entry to 5353");
  t.equal(del(4, IPPROTO_UDP, 5353), 0, "gone");
  t.equal(del(6, IPPROTO_UDP, 5353), 1, "the IPv6 one is separate");
  t.equal(del(4, IPPROTO_UDP, 5354), 1, "5354 was left alone");
  t.notMatch(tracked(), /dport=535[34] /, "none left (oracle)");
});
