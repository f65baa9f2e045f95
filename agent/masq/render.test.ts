// Golden tests of the whole iptables-restore payload (ip-masq-agent's ip-masq-agent_test.go habit): the
// desired state is computed from a config exactly as the agent does, and the text must match byte for byte.

import t from "tap";
import { parseCidr } from "../../core/ip-parse.js";
import { computeDesired, type DesiredInput } from "../desired.js";
import { DEFAULT_MASQ_CONFIG, parseMasqConfig } from "./ip-masq-config.js";
import { parseIptablesSave } from "../../native/index.js";
import { isUpToDate, planMasq, renderMasqCleanup, renderMasqRestore, type MasqChainSpec } from "./render.js";

const EMPTY_NAT = parseIptablesSave("*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n", "nat");

function specs(overrides: Partial<DesiredInput>): readonly MasqChainSpec[] {
  return computeDesired({
    podCidrs: [parseCidr("10.244.1.0/24")],
    clusterCidrs: [parseCidr("10.244.0.0/16")],
    masq: DEFAULT_MASQ_CONFIG,
    mtu: 1460,
    randomFully: true,
    bridgeName: "cbr0",
    masqChain: "KUBENET-MASQ",
    ipamDataDir: "/var/lib/cni/networks",
    cniVersion: "1.0.0",
    ...overrides,
  }).masq;
}

function freshPayload(spec: MasqChainSpec | undefined): string {
  if (spec === undefined) throw new Error("no spec");
  return renderMasqRestore(spec, planMasq(spec, EMPTY_NAT));
}

const JUMP_V4 =
  '-I POSTROUTING 1 -s 10.244.1.0/24 -m comment --comment "kubenet: pod traffic to non-local destinations is subject to masquerade rules" -m addrtype ! --dst-type LOCAL -j KUBENET-MASQ';
const LL_V4 = '-A KUBENET-MASQ -d 169.254.0.0/16 -m comment --comment "kubenet: link-local destinations are not masqueraded" -j RETURN';
const MASQ_RF = '-A KUBENET-MASQ -m comment --comment "kubenet: outbound traffic is masqueraded (must be last in chain)" -j MASQUERADE --random-fully';
const ret = (cidr: string): string => `-A KUBENET-MASQ -d ${cidr} -m comment --comment "kubenet: destinations in nonMasqueradeCIDRs are not masqueraded" -j RETURN`;

t.test("renderMasqRestore: defaults (cluster CIDR, link-local kept, --random-fully)", async (t) => {
  t.equal(freshPayload(specs({})[0]), ["*nat", ":KUBENET-MASQ - [0:0]", LL_V4, ret("10.244.0.0/16"), MASQ_RF, JUMP_V4, "COMMIT", ""].join("\n"));
});

t.test("renderMasqRestore: no cluster CIDR => the PodCIDR is the non-masquerade set", async (t) => {
  t.equal(freshPayload(specs({ clusterCidrs: [] })[0]), ["*nat", ":KUBENET-MASQ - [0:0]", LL_V4, ret("10.244.1.0/24"), MASQ_RF, JUMP_V4, "COMMIT", ""].join("\n"));
});

t.test("renderMasqRestore: custom nonMasqueradeCIDRs replace the defaults; the PodCIDR is added when not covered", async (t) => {
  const masq = parseMasqConfig("nonMasqueradeCIDRs:\n  - 172.16.0.0/12\n  - 192.168.0.0/16\n");
  t.equal(
    freshPayload(specs({ masq })[0]),
    ["*nat", ":KUBENET-MASQ - [0:0]", LL_V4, ret("172.16.0.0/12"), ret("192.168.0.0/16"), ret("10.244.1.0/24"), MASQ_RF, JUMP_V4, "COMMIT", ""].join("\n"),
  );
  const covering = parseMasqConfig("nonMasqueradeCIDRs: [10.0.0.0/8]\n");
  t.equal(freshPayload(specs({ masq: covering })[0]), ["*nat", ":KUBENET-MASQ - [0:0]", LL_V4, ret("10.0.0.0/8"), MASQ_RF, JUMP_V4, "COMMIT", ""].join("\n"));
});

t.test("renderMasqRestore: masqLinkLocal true drops the link-local RETURN; --random-fully off", async (t) => {
  const masq = parseMasqConfig('{"masqLinkLocal": true}');
  t.equal(
    freshPayload(specs({ masq, randomFully: false })[0]),
    [
      "*nat",
      ":KUBENET-MASQ - [0:0]",
      ret("10.244.0.0/16"),
      '-A KUBENET-MASQ -m comment --comment "kubenet: outbound traffic is masqueraded (must be last in chain)" -j MASQUERADE',
      JUMP_V4,
      "COMMIT",
      "",
    ].join("\n"),
  );
});

t.test("renderMasqRestore: dual-stack renders one payload per family", async (t) => {
  const all = specs({
    podCidrs: [parseCidr("10.244.1.0/24"), parseCidr("fd00:10:244:1::/64")],
    clusterCidrs: [parseCidr("10.244.0.0/16"), parseCidr("fd00:10:244::/56")],
    masq: parseMasqConfig("masqLinkLocal: false\nmasqLinkLocalIPv6: true\n"),
  });
  t.equal(all.length, 2);
  t.equal(freshPayload(all[0]), ["*nat", ":KUBENET-MASQ - [0:0]", LL_V4, ret("10.244.0.0/16"), MASQ_RF, JUMP_V4, "COMMIT", ""].join("\n"));
  t.equal(
    freshPayload(all[1]),
    [
      "*nat",
      ":KUBENET-MASQ - [0:0]",
      ret("fd00:10:244::/56"),
      MASQ_RF,
      '-I POSTROUTING 1 -s fd00:10:244:1::/64 -m comment --comment "kubenet: pod traffic to non-local destinations is subject to masquerade rules" -m addrtype ! --dst-type LOCAL -j KUBENET-MASQ',
      "COMMIT",
      "",
    ].join("\n"),
  );
  const v6ll = specs({ podCidrs: [parseCidr("fd00:10:244:1::/64")], clusterCidrs: [] })[0];
  t.match(freshPayload(v6ll), /-A KUBENET-MASQ -d fe80::\/10 -m comment --comment "kubenet: link-local destinations are not masqueraded" -j RETURN\n/);
});

t.test("planMasq: the saved form of our own payload is up to date (no write)", async (t) => {
  const spec = specs({})[0] as MasqChainSpec;
  const saved = parseIptablesSave(
    [
      "# Generated by iptables-save v1.8.9 (nf_tables)",
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      ":POSTROUTING ACCEPT [0:0]",
      ":KUBENET-MASQ - [0:0]",
      JUMP_V4.replace("-I POSTROUTING 1", "-A POSTROUTING"),
      "-A POSTROUTING -o eth9 -j MASQUERADE",
      LL_V4,
      ret("10.244.0.0/16"),
      MASQ_RF,
      "COMMIT",
    ].join("\n"),
    "nat",
  );
  t.ok(isUpToDate(planMasq(spec, saved)));
});

t.test("planMasq: a flushed chain is rewritten, the jump is left alone", async (t) => {
  const spec = specs({})[0] as MasqChainSpec;
  const saved = parseIptablesSave(["*nat", ":POSTROUTING ACCEPT [0:0]", ":KUBENET-MASQ - [0:0]", JUMP_V4.replace("-I POSTROUTING 1", "-A POSTROUTING"), "COMMIT"].join("\n"), "nat");
  const plan = planMasq(spec, saved);
  t.same(plan, { chainUpToDate: false, jumpUpToDate: true, deleteJumps: [] });
  t.notMatch(renderMasqRestore(spec, plan), /POSTROUTING/);
});

t.test("planMasq: stale and duplicate jumps (old PodCIDR, kubenet's own rule) are deleted in the same transaction", async (t) => {
  const spec = specs({})[0] as MasqChainSpec;
  const oldJump = JUMP_V4.replace("-I POSTROUTING 1", "-A POSTROUTING").replace("10.244.1.0/24", "10.244.9.0/24");
  const kubenetRule =
    '-A POSTROUTING -m comment --comment "kubenet: SNAT for outbound traffic from cluster" -m addrtype ! --dst-type LOCAL ! -d 10.0.0.0/8 -j MASQUERADE';
  const saved = parseIptablesSave(["*nat", ":POSTROUTING ACCEPT [0:0]", oldJump, kubenetRule, "-A POSTROUTING -o eth0 -j MASQUERADE", "COMMIT"].join("\n"), "nat");
  const payload = renderMasqRestore(spec, planMasq(spec, saved));
  t.equal(
    payload,
    [
      "*nat",
      ":KUBENET-MASQ - [0:0]",
      LL_V4,
      ret("10.244.0.0/16"),
      MASQ_RF,
      oldJump.replace("-A POSTROUTING", "-D POSTROUTING"),
      kubenetRule.replace("-A POSTROUTING", "-D POSTROUTING"),
      JUMP_V4,
      "COMMIT",
      "",
    ].join("\n"),
  );
});

t.test("renderMasqCleanup: removes every reference and the chain; nothing to do on a clean table", async (t) => {
  const saved = parseIptablesSave(
    ["*nat", ":POSTROUTING ACCEPT [0:0]", ":KUBENET-MASQ - [0:0]", JUMP_V4.replace("-I POSTROUTING 1", "-A POSTROUTING"), "-A POSTROUTING -o eth0 -j MASQUERADE", MASQ_RF, "COMMIT"].join("\n"),
    "nat",
  );
  t.equal(
    renderMasqCleanup("KUBENET-MASQ", saved),
    ["*nat", JUMP_V4.replace("-I POSTROUTING 1", "-D POSTROUTING"), ":KUBENET-MASQ - [0:0]", "-X KUBENET-MASQ", "COMMIT", ""].join("\n"),
  );
  t.equal(renderMasqCleanup("KUBENET-MASQ", EMPTY_NAT), undefined);
});
