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

t.test("runTool: the child gets exactly the env given, no ignored or blocked signal, large input whole, and no descriptor stays open", async (t) => {
  const { readdirSync } = await import("node:fs");
  const fds = (): number => readdirSync("/proc/self/fd").length;
  const before = fds();
  const env = await runTool("sh", ["-c", "env | sort"], { env: { PATH: process.env["PATH"], KUBENET_X: "a b" }, timeoutMs: 60_000 });
  t.match(env.stdout, /^KUBENET_X=a b$/m);
  t.notMatch(env.stdout, /^HOME=/m, "nothing of this process's environment but what was given");
  // Node ignores SIGPIPE; an exec'd tool must not inherit that (nor a blocked mask). Only signals 1-31 count:
  // glibc's posix_spawn leaves its two internal ones (32, 33), which no program may use, ignored.
  const sig = await runTool("sh", ["-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"], { timeoutMs: 60_000 });
  const mask = (name: string): bigint => BigInt(`0x${new RegExp(`${name}:\\s+([0-9a-f]+)`).exec(sig.stdout)?.[1] ?? "ffffffff"}`);
  t.equal(mask("SigBlk") & 0xffffffffn, 0n, "no standard signal blocked");
  t.equal(mask("SigIgn") & 0x7fffffffn, 0n, "no standard signal ignored (SIGPIPE included)");
  const input = "x".repeat(3 * 1024 * 1024) + "\n";
  const all = await Promise.all(Array.from({ length: 8 }, () => runTool("wc", ["-c"], { input, timeoutMs: 120_000 })));
  for (const r of all) t.equal(r.stdout.trim(), String(input.length));
  // The program is looked up in the PATH given to the child (tests and runtimes point it at other iptables).
  const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
  const dir = mkdtempSync("/tmp/kubenet-runtool-");
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(`${dir}/kubenet-test-tool`, "#!/bin/sh\necho found \"$@\"\n", { mode: 0o755 });
  const found = await runTool("kubenet-test-tool", ["x"], { env: { PATH: `/nonexistent:${dir}` }, timeoutMs: 60_000 });
  t.match(found, { status: 0, stdout: "found x\n" });
  await t.rejects(runTool("kubenet-test-tool", [], { env: { PATH: "/usr/bin:/bin" }, timeoutMs: 60_000 }), { code: "ENOENT" });
  const killed = await runTool("sh", ["-c", "kill -TERM $$"], { timeoutMs: 60_000 });
  t.match(killed, { status: null, signal: "SIGTERM" });
  t.equal(fds(), before, "every pipe closed");
});
