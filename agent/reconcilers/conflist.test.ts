// agent/reconcilers/conflist: the conflist text, its round trip through the plugin's own parser (the
// contract in core/cni/conflist), and the file handling in a temp dir (no root needed).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { KUBENET_NETWORK, type KubenetConflist } from "../../core/cni/conflist.js";
import { parseNetConf } from "../../core/cni/netconf.js";
import { peekAgentSocket } from "../../core/cni/peek.js";
import { formatCidr, formatIp, nthAddress } from "../../core/ip.js";
import { parseCidr } from "../../core/ip-parse.js";
import { cniConfigFiles, removeConflist, renderConflist, syncConflist, type ConflistInput } from "./conflist.js";

/** What a runtime hands the list's only plugin: {cniVersion, name}, the plugin's keys, runtimeConfig. */
function pluginStdin(text: string, runtimeConfig?: Record<string, unknown>): string {
  const list = JSON.parse(text) as KubenetConflist;
  const { capabilities: _capabilities, ...plugin } = list.plugins[0];
  return JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...plugin, ...(runtimeConfig ? { runtimeConfig } : {}) });
}

t.test("conflist round trip: every field the agent writes is read back by parseNetConf as the agent meant it", async (t) => {
  const inputs: ConflistInput[] = [
    { podCidrs: [parseCidr("10.244.7.0/24")], bridge: "cbr0", mtu: 1460, ipamDataDir: "/var/lib/cni/networks", cniVersion: "1.0.0" },
    { podCidrs: [parseCidr("fd00:10:244:7::/64")], bridge: "br-v6", mtu: 9000, ipamDataDir: "/data/cni", cniVersion: "1.1.0" },
    {
      podCidrs: [parseCidr("10.244.1.0/24"), parseCidr("fd00:10:244:1::/64")], bridge: "cbr0", mtu: 1500, ipamDataDir: "/var/lib/cni/networks",
      cniVersion: "1.1.0", agentSocket: "/run/kubenet/cni.sock", capabilities: { bandwidth: true },
    },
    { podCidrs: [parseCidr("172.16.0.0/16")], bridge: "cbr0", mtu: 1400, ipamDataDir: "/x", cniVersion: "1.0.0", agentSocket: "off" },
  ];
  for (const input of inputs) {
    const label = `${input.podCidrs.map(formatCidr).join(",")} ${input.cniVersion}`;
    const text = renderConflist(input);
    const conf = parseNetConf(pluginStdin(text), "kubenet");
    t.equal(conf.cniVersion, input.cniVersion, label);
    t.equal(conf.name, KUBENET_NETWORK, label);
    t.equal(conf.plugin, "kubenet", label);
    t.same(conf.ignored, [], label);
    t.match(conf.bridge, {
      bridge: input.bridge, mtu: input.mtu, hairpinMode: true, isGateway: true, isDefaultGateway: true, forceAddress: true, ipMasq: false,
    }, label);
    const ipam = conf.ipam;
    if (ipam?.kind !== "host-local") {
      t.fail(`${label}: host-local ipam expected, got ${JSON.stringify(ipam)}`);
      continue;
    }
    t.equal(ipam.dataDir, input.ipamDataDir, label);
    t.same(ipam.ranges.map((set) => set.map((r) => formatCidr(r.subnet))), input.podCidrs.map((c) => [formatCidr(c)]), `${label}: one range set per PodCIDR`);
    t.same(ipam.ranges.map((set) => set.map((r) => r.gateway && formatIp(r.gateway))), input.podCidrs.map((c) => [formatIp(nthAddress(c, 1))]), `${label}: gateway .1`);
    t.same(ipam.routes.map((r) => formatCidr(r.dst)), input.podCidrs.map((c) => (c.addr.family === 4 ? "0.0.0.0/0" : "::/0")), `${label}: default routes`);
    const expectedSocket = input.agentSocket === undefined ? "/run/kubenet/cni.sock" : input.agentSocket === "off" ? undefined : input.agentSocket;
    t.equal(peekAgentSocket(pluginStdin(text)), expectedSocket, `${label}: the thin client's socket`);
    if (input.capabilities?.["bandwidth"]) {
      const shaped = parseNetConf(pluginStdin(text, { bandwidth: { ingressRate: 8_000_000, ingressBurst: 1_000_000 } }), "kubenet");
      t.ok(shaped.bandwidth, `${label}: the bandwidth capability's runtimeConfig is honoured`);
    }
  }
});

t.test("renderConflist: the kubenet config the plugin expects (single and dual-stack)", async (t) => {
  const text = renderConflist({ podCidrs: [parseCidr("172.20.1.0/24")], bridge: "cbr0", mtu: 1460, ipamDataDir: "/var/lib/cni/networks", cniVersion: "1.1.0" });
  t.same(JSON.parse(text), {
    cniVersion: "1.1.0",
    name: "kubenet",
    plugins: [
      {
        type: "kubenet", bridge: "cbr0", mtu: 1460, hairpinMode: true, isGateway: true, isDefaultGateway: true, forceAddress: true,
        ipam: { type: "host-local", ranges: [[{ subnet: "172.20.1.0/24", gateway: "172.20.1.1" }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: "/var/lib/cni/networks" },
      },
    ],
  });
  t.ok(text.endsWith("}\n"));
  const dual = JSON.parse(renderConflist({ podCidrs: [parseCidr("10.1.2.0/24"), parseCidr("fd00:1:2::/64")], bridge: "br9", mtu: 9000, ipamDataDir: "/d", cniVersion: "1.0.0" })) as {
    plugins: { bridge: string; ipam: { ranges: unknown; routes: unknown } }[];
  };
  t.same(dual.plugins[0]?.ipam.ranges, [[{ subnet: "10.1.2.0/24", gateway: "10.1.2.1" }], [{ subnet: "fd00:1:2::/64", gateway: "fd00:1:2::1" }]]);
  t.same(dual.plugins[0]?.ipam.routes, [{ dst: "0.0.0.0/0" }, { dst: "::/0" }]);
  const capable = JSON.parse(renderConflist({ podCidrs: [parseCidr("10.1.2.0/24")], bridge: "cbr0", mtu: 1460, ipamDataDir: "/d", cniVersion: "1.0.0", capabilities: { bandwidth: true } })) as {
    plugins: { capabilities?: unknown }[];
  };
  t.same(capable.plugins[0]?.capabilities, { bandwidth: true }, "capabilities declared on the plugin");
  t.equal((JSON.parse(renderConflist({ podCidrs: [parseCidr("10.1.2.0/24")], bridge: "cbr0", mtu: 1460, ipamDataDir: "/d", cniVersion: "1.0.0", capabilities: {} })) as { plugins: { capabilities?: unknown }[] }).plugins[0]?.capabilities, undefined, "none: no key");
});

t.test("syncConflist: atomic write only on change, shadowing files reported, others untouched", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kt-conf-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "10-containerd-net.conflist"), "{}");
  writeFileSync(join(dir, "README"), "x");
  const first = await syncConflist(dir, "05-kubenet.conflist", "A\n");
  t.same(first, { wrote: true, shadowedBy: [] });
  t.equal(readFileSync(join(dir, "05-kubenet.conflist"), "utf8"), "A\n");
  t.same(await syncConflist(dir, "05-kubenet.conflist", "A\n"), { wrote: false, shadowedBy: [] }, "unchanged => no write");
  writeFileSync(join(dir, "00-other.conf"), "{}");
  t.same(await syncConflist(dir, "05-kubenet.conflist", "B\n"), { wrote: true, shadowedBy: ["00-other.conf"] });
  t.same(readdirSync(dir).sort(), ["00-other.conf", "05-kubenet.conflist", "10-containerd-net.conflist", "README"], "no temp file left, others kept");
  t.same(cniConfigFiles(["b.json", "a.conf", ".hidden.conf", "x.txt", "Z.conflist"]), ["Z.conflist", "a.conf", "b.json"], "byte order, libcni extensions");
});

t.test("removeConflist: only a conflist of ours is removed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kt-conf-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(await removeConflist(dir, "05-kubenet.conflist"), false, "absent");
  writeFileSync(join(dir, "05-kubenet.conflist"), '{"name":"someone-else","plugins":[{"type":"bridge"}]}');
  t.equal(await removeConflist(dir, "05-kubenet.conflist"), false, "not ours");
  writeFileSync(join(dir, "05-kubenet.conflist"), renderConflist({ podCidrs: [parseCidr("10.0.0.0/24")], bridge: "cbr0", mtu: 1500, ipamDataDir: "/x", cniVersion: "1.0.0" }));
  t.equal(await removeConflist(dir, "05-kubenet.conflist"), true);
  t.same(readdirSync(dir), []);
});
