// deploy/kubenet.yaml checked against the code it configures: the agent's args parse, the ConfigMap's
// masquerade config parses, and the install-cni script installs atomically (run here on a temp dir).
// No root needed.

import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { parseCli } from "../../agent/cli.js";
import { PLUGIN_NAMES } from "../../core/cni/netconf.js";
import { parseMasqConfig } from "../../agent/masq/ip-masq-config.js";
import { REPO_ROOT } from "../support/plugin-harness.js";
import { tempDir } from "./agent-harness.js";

const manifest = readFileSync(join(REPO_ROOT, "deploy", "kubenet.yaml"), "utf8");

/** The lines of a YAML block scalar (`key: |`) at the given key indentation. */
function blockScalar(key: string, indent: number): string {
  const lines = manifest.split("\n");
  const start = lines.findIndex((l) => l === `${" ".repeat(indent)}${key}: |`);
  if (start < 0) throw new Error(`no block ${key}`);
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() !== "" && l.length - l.trimStart().length <= indent) break;
    body.push(l.slice(indent + 2));
  }
  return `${body.join("\n").trimEnd()}\n`;
}

t.test("deploy: the ConfigMap's ip-masq-agent config parses", async (t) => {
  const cfg = parseMasqConfig(blockScalar("config", 2));
  t.same(cfg, { nonMasqueradeCidrs: undefined, masqLinkLocal: false, masqLinkLocalIpv6: false, resyncIntervalMs: 60_000 });
});

t.test("deploy: the agent's args parse (with the downward-API and env values substituted)", async (t) => {
  const args = [...manifest.matchAll(/^ {12}- (run|--[a-z-]+=.*)$/gm)].map((m) => (m[1] ?? "").replace("$(NODE_NAME)", "node-1").replace("$(CLUSTER_CIDR)", "10.244.0.0/16"));
  t.equal(args[0], "run");
  const cmd = parseCli(args, { nodeName: undefined, hostname: "x" });
  if (cmd.kind !== "run") throw new Error("expected run");
  t.same(cmd.config.source, { kind: "kubernetes", kubeconfig: undefined, nodeName: "node-1" }, "in-cluster config, node from the downward API");
  t.same(cmd.config.listen, { host: "127.0.0.1", port: 9970 });
  t.equal(cmd.config.masqConfigPath, "/etc/config/ip-masq-agent");
  t.match(manifest, /port: 9970, path: \/healthz/);
  t.equal(cmd.config.cniSocket, "/run/kubenet/cni.sock", "the CNI service listens on the default socket");
  t.match(manifest, /- name: run-kubenet\n\s+mountPath: \/run\/kubenet\n/, "the socket directory is the host's");
  t.match(manifest, /mountPath: \/var\/run\/netns\n\s+mountPropagation: HostToContainer/, "pod namespaces made later are visible");
  t.match(manifest, /- name: cni-lib\n\s+mountPath: \/var\/lib\/cni/, "the lease directories are the host's");
  t.equal(cmd.config.criEndpoint, "unix:///run/containerd/containerd.sock", "the sweep asks containerd");
  t.equal(cmd.config.gcIntervalMs, 600_000);
  t.match(manifest, /- name: cri-socket-dir\n\s+mountPath: \/run\/containerd\n\s+readOnly: true/, "the CRI socket's directory is mounted read-only");
});

/** The install-cni init container's script, with its paths moved under `root` (bin/ for /opt/cni/bin, src/ for /opt/kubenet/bin). */
function installScript(root: string): string {
  const lines = manifest.split("\n");
  const start = lines.findIndex((l) => l.trim() === "- -ec") + 1;
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("              ") && l.trim() !== "") break;
    body.push(l.slice(14));
  }
  return body.join("\n").replaceAll("/host/opt/cni/bin", join(root, "bin")).replaceAll("/opt/kubenet/bin", join(root, "src"));
}

t.test("deploy: install-cni installs the executable and the alias names atomically and idempotently", async (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, "src"));
  mkdirSync(join(root, "bin"));
  writeFileSync(join(root, "src", "kubenet"), "#!/bin/sh\necho v1\n");
  writeFileSync(join(root, "src", "kubenet-full"), "full v1\n");
  writeFileSync(join(root, "bin", "bridge"), "distro bridge");
  writeFileSync(join(root, "bin", "loopback"), "distro loopback", { mode: 0o755 });
  const sh = installScript(root);
  const keep = /- name: KEEP_EXISTING\n\s+value: "([^"]*)"/.exec(manifest)?.[1];
  t.equal(keep, "", "by default ours replaces every name (with the agent, our loopback is cheaper than Go's)");
  const run = (aliases: string, keepExisting = keep ?? ""): string =>
    execFileSync("sh", ["-ec", sh], { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", INSTALL_ALIASES: aliases, KEEP_EXISTING: keepExisting }, encoding: "utf8" });
  const aliases = /- name: INSTALL_ALIASES\n\s+value: "([^"]*)"/.exec(manifest)?.[1] ?? "";
  t.same(aliases.split(" ").sort(), PLUGIN_NAMES.filter((n) => n !== "kubenet").sort(), "by default every name the executable answers as");
  t.match(run(aliases), /installed kubenet/);
  writeFileSync(join(root, "src", "kubenet"), "#!/bin/sh\necho v2\n");
  writeFileSync(join(root, "src", "kubenet-full"), "full v2\n");
  run(aliases);
  t.same(readdirSync(join(root, "bin")).sort(), ["bandwidth", "bridge", "host-local", "kubenet", "kubenet-full", "loopback", "portmap"], "no temp files left");
  t.equal(readFileSync(join(root, "bin", "kubenet"), "utf8"), "#!/bin/sh\necho v2\n", "updated in place");
  t.equal(readFileSync(join(root, "bin", "kubenet-full"), "utf8"), "full v2\n", "the full plugin beside it, updated too");
  for (const f of ["kubenet", "kubenet-full"]) t.equal(lstatSync(join(root, "bin", f)).mode & 0o777, 0o755, `${f} 0755 (the thin client runs kubenet-full only when no one else can write it)`);
  for (const alias of ["loopback", "bridge", "host-local", "portmap", "bandwidth"]) t.equal(readlinkSync(join(root, "bin", alias)), "kubenet", `${alias} -> kubenet`);
  t.equal(execFileSync(join(root, "bin", "loopback"), { encoding: "utf8" }), "v2\n");
});

t.test("deploy: KEEP_EXISTING=loopback keeps a node's own loopback and installs ours where there is none", async (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, "src"));
  mkdirSync(join(root, "bin"));
  writeFileSync(join(root, "src", "kubenet"), "#!/bin/sh\necho ours\n");
  writeFileSync(join(root, "src", "kubenet-full"), "full\n");
  writeFileSync(join(root, "bin", "loopback"), "#!/bin/sh\necho distro\n", { mode: 0o755 });
  writeFileSync(join(root, "bin", "bridge"), "distro bridge");
  const sh = installScript(root);
  const run = (): string => execFileSync("sh", ["-ec", sh], { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", INSTALL_ALIASES: "loopback bridge", KEEP_EXISTING: "loopback" }, encoding: "utf8" });
  t.match(run(), /kept the node's loopback/);
  t.equal(execFileSync(join(root, "bin", "loopback"), { encoding: "utf8" }), "distro\n", "the node's loopback stays");
  t.equal(readlinkSync(join(root, "bin", "bridge")), "kubenet", "a name not kept is replaced");
  rmSync(join(root, "bin", "loopback"));
  t.notMatch(run(), /kept/, "no loopback on the node: ours is installed");
  t.equal(readlinkSync(join(root, "bin", "loopback")), "kubenet");
  t.notMatch(run(), /kept/, "ours already there: refreshed, not kept aside");
  t.equal(execFileSync(join(root, "bin", "loopback"), { encoding: "utf8" }), "ours\n");
  t.same(readdirSync(join(root, "bin")).sort(), ["bridge", "kubenet", "kubenet-full", "loopback"], "no temp files left");
});
