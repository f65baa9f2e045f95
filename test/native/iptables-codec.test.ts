// The iptables codec against the real tools (the oracle): every nasty argument written by formatRule and
// read by iptables-restore comes back from iptables-save as the same argument list, for both families; and
// runTool reports status, output, a missing tool and the deadline.
import t from "tap";
import { formatRule, parseIptablesSave, runTool } from "../../native/index.js";
import { KERNEL_SKIP, createNetns } from "../support/netns.js";

const NASTY = [`a "q" b\\c it's ünï€ x`, "tab\tx\\\\y", "", "kubenet: it's \"quoted\" \\ 🐙", "plain", `'`, `\\`, `"`];

t.test("formatRule -> iptables-restore -> iptables-save -> parseIptablesSave is the identity", { skip: KERNEL_SKIP }, async (t) => {
  const ns = createNetns(t);
  for (const [tool, addr] of [["iptables", "10.0.0.1/32"], ["ip6tables", "fd00::1/128"]] as const) {
    const rules = NASTY.map((c) => ["-s", addr, "-m", "comment", "--comment", c, "-j", "RETURN"]);
    const payload = ["*nat", ":NASTY - [0:0]", ...rules.map((r) => formatRule("-A", "NASTY", r)), "COMMIT", ""].join("\n");
    ns.exec(`${tool}-restore`, ["--noflush", "--wait=5"], payload);
    const saved = parseIptablesSave(ns.exec(`${tool}-save`, ["-t", "nat"]), "nat");
    t.same(saved.rules.filter((r) => r.chain === "NASTY").map((r) => r.args), rules, tool);
    // Deleting by the parsed arguments finds each rule (the text we render is what iptables matches).
    const del = ["*nat", ...saved.rules.filter((r) => r.chain === "NASTY").map((r) => formatRule("-D", r.chain, r.args)), "-X NASTY", "COMMIT", ""].join("\n");
    ns.exec(`${tool}-restore`, ["--noflush", "--wait=5"], del);
    t.notOk(parseIptablesSave(ns.exec(`${tool}-save`, ["-t", "nat"]), "nat").chains.has("NASTY"), `${tool}: all deleted`);
  }
});

t.test("runTool: status and output; a missing tool rejects with ENOENT; the deadline kills", async (t) => {
  const r = await runTool("sh", ["-c", "cat; echo err >&2; exit 3"], { input: "in", timeoutMs: 60_000 });
  t.match(r, { status: 3, signal: null, stdout: "in", stderr: "err\n", timedOut: false });
  await t.rejects(runTool("kubenet-no-such-tool", [], { timeoutMs: 60_000 }), { code: "ENOENT" });
  const slow = await runTool("sleep", ["30"], { timeoutMs: 200 });
  t.match(slow, { status: null, signal: "SIGKILL", timedOut: true });
  const big = await runTool("cat", ["/dev/zero"], { timeoutMs: 120_000, maxOutputBytes: 1000 });
  t.match(big, { signal: "SIGKILL", timedOut: false }, "endless output: killed at the cap, not at the deadline");
  t.ok(big.stdout.length <= 1000);
});
