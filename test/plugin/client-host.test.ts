// The Duktape thin client (dist/kubenet: native/client-host/host.c running plugin/client-main.ts) on the paths
// that are its own: how it hands a call to kubenet-full beside it (argv0, every argument, the environment and
// the stdin bytes intact; KUBENET_SERVICE_TRIED=1 so that the service is not asked twice), and what it does
// when that file is missing or unsafe (a CNI error, code 5, naming the file: never exec'ing a file another
// user could have written). The service paths are in thin-client.test.ts, against the other builds.

import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { KUBENET_BIN, KUBENET_FULL_BIN, isThinClient, runPlugin } from "../support/plugin-harness.js";
import { tempDir, type TapTest } from "./datapath-support.js";

const skip = isThinClient(KUBENET_BIN) ? false : "dist/kubenet is not the thin client (no duktape-dev at build time?)";

/** A bin dir with the client as `kubenet` (and a `bridge` link), and `full` as kubenet-full (a copy, or a script). */
function binDir(t: TapTest, full: "copy" | "absent" | { script: string }): string {
  const dir = join(tempDir(t, "kubenet-client-host-"), "bin");
  mkdirSync(dir);
  copyFileSync(KUBENET_BIN, join(dir, "kubenet"));
  chmodSync(join(dir, "kubenet"), 0o755);
  symlinkSync("kubenet", join(dir, "bridge"));
  if (full === "copy") {
    copyFileSync(KUBENET_FULL_BIN, join(dir, "kubenet-full"));
    chmodSync(join(dir, "kubenet-full"), 0o755);
  } else if (full !== "absent") {
    writeFileSync(join(dir, "kubenet-full"), full.script, { mode: 0o755 });
  }
  return dir;
}

/** A stand-in kubenet-full that reports what it was given: argv, KUBENET_* and CNI_* variables, stdin's bytes. */
const REPORTER = `#!/bin/sh
printf 'argv:%s\\n' "$0" "$@"
env | grep -E '^(KUBENET_|CNI_)' | sort | sed 's/^/env:/'
printf 'stdin:'; od -An -tx1 -v | tr -d ' \\n'; echo
`;

t.test("the hand-over to kubenet-full", { skip }, async (t) => {
  t.test("VERSION: argv0, the arguments, the environment and stdin as the runtime gave them", async (t) => {
    const dir = binDir(t, { script: REPORTER });
    const stdin = Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"bridge"}\n\u00e9\u0000tail', "latin1");
    const r = spawnSync("env", ["-i", "PATH=/usr/bin:/bin", "CNI_COMMAND=VERSION", "KUBENET_X=1", join(dir, "bridge"), "extra", "args"], { input: stdin, encoding: "utf8" });
    t.equal(r.status, 0, r.stderr);
    // (A script sees its own path as $0; that argv0 itself is kept is shown with the real full plugin below.)
    t.match(r.stdout, "argv:extra\nargv:args\n", "the arguments");
    t.match(r.stdout, "env:CNI_COMMAND=VERSION\nenv:KUBENET_X=1\n", "the environment");
    t.notMatch(r.stdout, "KUBENET_SERVICE_TRIED", "VERSION never goes to the service, so the full plugin is not told it was tried");
    t.match(r.stdout, `stdin:${stdin.toString("hex")}\n`, "stdin byte for byte (not read by the client: the same pipe)");
  });

  t.test("not a service command: stdin is never read (`kubenet status` in a shell does not wait for EOF)", async (t) => {
    const dir = binDir(t, { script: "#!/bin/sh\necho full ran\n" });
    const child = spawn("env", ["-i", "PATH=/usr/bin:/bin", join(dir, "kubenet"), "status"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    child.stdin.destroy();
    t.equal(code, 0, "exited with stdin still open");
    t.equal(out, "full ran\n");
  });

  t.test("ADD without a service: KUBENET_SERVICE_TRIED=1 and the stdin bytes", async (t) => {
    const dir = binDir(t, { script: REPORTER });
    const conf = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "kubenet", agentSocket: join(dir, "absent.sock") });
    const r = spawnSync("env", ["-i", "PATH=/usr/bin:/bin", "CNI_COMMAND=ADD", join(dir, "kubenet")], { input: conf, encoding: "utf8" });
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, "env:KUBENET_SERVICE_TRIED=1\n");
    t.match(r.stdout, `stdin:${Buffer.from(conf).toString("hex")}\n`);
  });

  t.test("stdin over 1 MiB: the full plugin gets more than its limit and reports it (code 5)", async (t) => {
    const dir = binDir(t, "copy");
    const r = runPlugin({ bin: join(dir, "kubenet"), command: "ADD", containerId: "c", netns: "/proc/self/ns/net", ifName: "eth0", config: Buffer.alloc(1024 * 1024 + 10, 0x20) });
    t.equal(r.code, 1);
    t.match(r.json, { code: 5, msg: /larger than 1048576 bytes/ });
  });

  t.test("a real in-process call through the copy: argv0 kept, the full plugin answers as `bridge`", async (t) => {
    const dir = binDir(t, "copy");
    const conf = { cniVersion: "1.0.0", name: "n", type: "bridge", bridge: "" };
    const r = runPlugin({ bin: join(dir, "bridge"), command: "ADD", containerId: "c", netns: "/proc/self/ns/net", ifName: "eth0", config: conf });
    t.equal(r.code, 1);
    t.match(r.json, { code: 7, msg: 'bridge "" is empty: remove the key for the default ("cni0")' }, "the drop-in bridge's default, not kubenet's cbr0");
    t.match(r.stderr, / bridge ADD c\/eth0: failed/, "its log line names the plugin it ran as");
  });
});

t.test("no usable kubenet-full: a CNI error, code 5, naming the file; nothing exec'ed", { skip }, async (t) => {
  const conf = { cniVersion: "0.4.0", name: "n", type: "kubenet", agentSocket: "off" };
  const cases: [string, (dir: string) => void, RegExp][] = [
    ["missing", () => {}, /the full plugin ".*\/kubenet-full" cannot be used: No such file or directory \(ENOENT\); install kubenet-full beside kubenet/],
    ["group-writable", (dir) => chmodSync(join(dir, "kubenet-full"), 0o775), /refusing to run the full plugin ".*\/kubenet-full": .*not writable by group or others \(owner 0, mode 0775\)/],
    ["world-writable", (dir) => chmodSync(join(dir, "kubenet-full"), 0o757), /mode 0757/],
    ["owned by another user", (dir) => chownSync(join(dir, "kubenet-full"), 65534, 65534), /owned by root .* \(owner 65534, mode 0755\)/],
    ["a directory", (dir) => mkdirSync(join(dir, "kubenet-full")), /must be a regular file/],
  ];
  for (const [what, spoil, msg] of cases) {
    t.test(what, async (t) => {
      const dir = binDir(t, what === "missing" || what === "a directory" ? "absent" : { script: "#!/bin/sh\necho RAN\n" });
      spoil(dir);
      const r = runPlugin({ bin: join(dir, "kubenet"), command: "ADD", containerId: "c", netns: "/proc/self/ns/net", ifName: "eth0", config: conf });
      t.equal(r.code, 1);
      t.match(r.json, { cniVersion: "0.4.0", code: 5, msg });
      t.notMatch(r.stdout, "RAN", "the file did not run");
    });
  }
});
