// A large multipart dump: 1,000 links in one namespace decode correctly (names and count equal `ip -j`).
import t from "tap";
import { openRtnl } from "../../native/index.js";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";
import { ipLinks } from "./oracle.js";

t.test("linkList over 1,000 links", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  const rtnl = openRtnl({ netnsPath: ns.path });
  t.teardown(() => rtnl.close());
  // 500 veth pairs in one `ip -batch` (no dummy module on this kernel).
  const batch = Array.from({ length: 500 }, (_, i) => `link add va${i} type veth peer name vb${i}`).join("\n");
  ns.exec("ip", ["-batch", "-"], `${batch}\n`);
  const links = rtnl.linkList();
  t.equal(links.length, 1001, "lo + 1,000");
  const oracle = ipLinks(ns);
  t.equal(oracle.length, links.length);
  t.same(
    links.map((l) => `${l.index}:${l.name}`).sort(),
    oracle.map((l) => `${l.ifindex}:${l.ifname}`).sort(),
  );
  const va7 = links.find((l) => l.name === "va7");
  t.equal(va7?.kind, "veth");
  t.equal(va7?.parentIndex, links.find((l) => l.name === "vb7")?.index);
  t.equal(new Set(links.map((l) => l.index)).size, links.length, "no link twice");
  // Addresses too: one per link.
  const v4 = links.filter((l) => l.name.startsWith("va")).slice(0, 200);
  v4.forEach((l, i) => rtnl.addrAdd(l.index, { addr: { family: 4, value: 0x0a000000n + BigInt(i * 4 + 1) }, prefixLen: 30 }));
  t.equal(rtnl.addrList({ family: 4 }).length, 201, "lo + 200");
});
