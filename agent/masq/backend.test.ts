// Backend detection against a fake exec: which save tools exist and what they print.

import t from "tap";
import type { ExecFn, ExecResult } from "../exec.js";
import { detectIptablesMode } from "./backend.js";
import { createIptables, iptablesCommand, supportsRandomFully } from "./iptables.js";

type Tables = Partial<Record<"iptables-nft-save" | "ip6tables-nft-save" | "iptables-legacy-save" | "ip6tables-legacy-save", string>>;

/** A fake exec: a tool listed in `tables` prints its text (filtered by "-t"); others are not installed. */
function fakeExec(tables: Tables, calls: string[] = []): ExecFn {
  return async (file, args) => {
    calls.push([file, ...args].join(" "));
    const text = tables[file as keyof Tables];
    if (text === undefined) throw Object.assign(new Error(`spawn ${file} ENOENT`), { code: "ENOENT" });
    const i = args.indexOf("-t");
    const table = i >= 0 ? args[i + 1] : undefined;
    const out = table === undefined ? text : text.split(/(?=^\*)/m).filter((b) => b.startsWith(`*${table}`)).join("");
    return { code: 0, stdout: out, stderr: "" } satisfies ExecResult;
  };
}

const empty = "";
const mangleHint = "*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n";
const canary = "*mangle\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT\n";
const rules = (n: number): string => `*filter\n:INPUT ACCEPT [0:0]\n${Array.from({ length: n }, (_, i) => `-A INPUT -s 10.0.0.${i}/32 -j ACCEPT`).join("\n")}\nCOMMIT\n`;

t.test("detectIptablesMode: the kubelet's hint chain in nft mangle wins, without reading legacy tables", async (t) => {
  const calls: string[] = [];
  const d = await detectIptablesMode(fakeExec({ "iptables-nft-save": mangleHint, "ip6tables-nft-save": empty, "iptables-legacy-save": rules(50), "ip6tables-legacy-save": empty }, calls));
  t.equal(d.mode, "nft");
  t.notOk(calls.some((c) => c.includes("legacy")), "legacy tools not run");
  t.ok(calls.includes("iptables-nft-save -t mangle"));
});

t.test("detectIptablesMode: the hint (or canary) in the legacy tables => legacy, read without -t", async (t) => {
  const calls: string[] = [];
  const d = await detectIptablesMode(fakeExec({ "iptables-nft-save": rules(10), "ip6tables-nft-save": empty, "iptables-legacy-save": empty, "ip6tables-legacy-save": canary }, calls));
  t.equal(d.mode, "legacy");
  t.ok(calls.includes("iptables-legacy-save"), "legacy save without -t (it would create the table)");
  t.notOk(calls.some((c) => c.startsWith("iptables-legacy-save -t")));
});

t.test("detectIptablesMode: no hint => the backend with more rules; ties go to nft", async (t) => {
  const all = { "ip6tables-nft-save": empty, "ip6tables-legacy-save": empty };
  t.equal((await detectIptablesMode(fakeExec({ ...all, "iptables-nft-save": rules(2), "iptables-legacy-save": rules(7) }))).mode, "legacy");
  t.equal((await detectIptablesMode(fakeExec({ ...all, "iptables-nft-save": rules(7), "iptables-legacy-save": rules(2) }))).mode, "nft");
  t.equal((await detectIptablesMode(fakeExec({ ...all, "iptables-nft-save": rules(3), "iptables-legacy-save": rules(3) }))).mode, "nft");
  t.equal((await detectIptablesMode(fakeExec({ ...all, "iptables-nft-save": empty, "iptables-legacy-save": empty }))).mode, "nft");
});

t.test("detectIptablesMode: only one variant installed, or none", async (t) => {
  t.equal((await detectIptablesMode(fakeExec({ "iptables-legacy-save": empty }))).mode, "legacy");
  t.equal((await detectIptablesMode(fakeExec({ "iptables-nft-save": empty }))).mode, "nft");
  t.equal((await detectIptablesMode(fakeExec({}))).mode, "plain");
  const failing: ExecFn = async () => ({ code: 1, stdout: "", stderr: "can't initialize" });
  t.equal((await detectIptablesMode(failing)).mode, "plain", "tools that fail count as absent");
});

t.test("createIptables: command names, --noflush --wait=N, -t only for nft", async (t) => {
  const calls: { cmd: string; input: string | undefined }[] = [];
  const exec: ExecFn = async (file, args, options) => {
    calls.push({ cmd: [file, ...args].join(" "), input: options?.input });
    return { code: 0, stdout: "iptables v1.8.9 (legacy)\n", stderr: "" };
  };
  const legacy6 = createIptables({ exec, family: 6, mode: "legacy", lockWaitSeconds: 3 });
  await legacy6.save("nat");
  await legacy6.restore("*nat\nCOMMIT\n");
  t.equal(await legacy6.version(), "iptables v1.8.9 (legacy)");
  await createIptables({ exec, family: 4, mode: "nft" }).save("nat");
  t.same(calls.map((c) => c.cmd), ["ip6tables-legacy-save", "ip6tables-legacy-restore --noflush --wait=3", "ip6tables-legacy --version", "iptables-nft-save -t nat"]);
  t.equal(calls[1]?.input, "*nat\nCOMMIT\n");
  t.equal(iptablesCommand("restore", 4, "plain"), "iptables-restore");
  const failing = createIptables({ exec: async () => ({ code: 4, stdout: "", stderr: "Another app is currently holding the xtables lock" }), family: 4, mode: "nft" });
  await t.rejects(failing.restore("x"), { name: "ExecError", message: /exited with 4: Another app is currently holding the xtables lock/ });
});

t.test("supportsRandomFully: iptables >= 1.6.2", async (t) => {
  t.ok(supportsRandomFully("iptables v1.8.9 (nf_tables)"));
  t.ok(supportsRandomFully("iptables v1.6.2"));
  t.notOk(supportsRandomFully("iptables v1.6.1"));
  t.notOk(supportsRandomFully("iptables v1.4.21"));
  t.notOk(supportsRandomFully("garbage"));
});

