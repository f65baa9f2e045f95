import t from "tap";
import { hostVethAlias } from "./host-veth-alias.js";
import { throwsCni } from "../../test/support/assert-cni.js";
import {
  LONGEST_LEASE_FILE_NAME,
  MAX_ALIAS_BYTES,
  MAX_IPTABLES_COMMENT_BYTES,
  NAME_MAX,
  PATH_MAX,
  checkConfigPath,
  checkHostVethAlias,
  checkIptablesComment,
  checkLeaseDir,
  checkNetnsPath,
  pathProblem,
} from "./limits.js";

/** An absolute path of exactly `bytes` bytes made of components of at most 200 bytes. */
function pathOf(bytes: number): string {
  let p = "";
  while (p.length < bytes) p += `/${"d".repeat(Math.min(200, bytes - p.length - 1))}`;
  return p.length === bytes ? p : p.slice(0, bytes);
}

const alias = hostVethAlias;
const comment = (net: string, id: string) => `name: "${net}" id: "${id}"`;

t.test("paths: PATH_MAX and NAME_MAX at the edge, both sides; NUL; relative", async (t) => {
  t.equal(pathOf(PATH_MAX - 1).length, PATH_MAX - 1);
  t.equal(pathProblem(pathOf(PATH_MAX - 1)), undefined, "4095 bytes fit (4096 with the NUL)");
  t.match(pathProblem(pathOf(PATH_MAX)), /is 4096 bytes long \(PATH_MAX is 4096 with the NUL\)/);
  t.equal(pathProblem(pathOf(PATH_MAX - 11), 10), undefined, "with a suffix: exactly at the edge");
  t.match(pathProblem(pathOf(PATH_MAX - 10), 10), /makes paths of 4096 bytes/);
  t.equal(pathProblem(`/var/${"n".repeat(NAME_MAX)}/x`), undefined, "a 255-byte component");
  t.match(pathProblem(`/var/${"n".repeat(NAME_MAX + 1)}/x`), /a component of 256 bytes \(NAME_MAX is 255\)/);
  t.match(pathProblem("/var/lib\0/x"), /NUL/);
  t.match(pathProblem("var/lib/cni"), /not an absolute path/);
  throwsCni(t, () => checkConfigPath("logFile", "relative.log"), 7, /logFile "relative.log" is not an absolute path/);
  throwsCni(t, () => checkNetnsPath(`/run/netns/${"p".repeat(256)}`), 4, /CNI_NETNS "\/run\/netns\/p+" has a component of 256 bytes/);
  checkNetnsPath(`/run/netns/${"p".repeat(255)}`);
});

t.test("lease directory: the network name is one component, the longest lease path fits PATH_MAX", async (t) => {
  checkLeaseDir("/var/lib/cni/networks", "n".repeat(NAME_MAX));
  throwsCni(t, () => checkLeaseDir("/var/lib/cni/networks", "n".repeat(NAME_MAX + 1)), 7, /network name "n+\.\.\." is 256 bytes: it names the lease directory/);
  const net = "net";
  // <dataDir>/<net>/<39-byte lease name> = 4095 bytes exactly.
  const fits = pathOf(PATH_MAX - 1 - (1 + net.length + 1 + LONGEST_LEASE_FILE_NAME));
  checkLeaseDir(fits, net);
  throwsCni(t, () => checkLeaseDir(`${fits}d`, net), 7, /ipam.dataDir "\/d+.*" makes paths of 4096 bytes in it/);
  throwsCni(t, () => checkLeaseDir("leases", net), 7, /ipam.dataDir "leases" is not an absolute path/);
});

t.test("host veth alias: 254 bytes fit, 255 do not; the container ID is blamed only beyond any runtime's", async (t) => {
  const id = "c".repeat(64);
  const net = "n".repeat(MAX_ALIAS_BYTES - alias("", id, "eth0").length);
  t.equal(Buffer.byteLength(alias(net, id, "eth0")), MAX_ALIAS_BYTES);
  checkHostVethAlias(alias(net, id, "eth0"), net, id, "eth0");
  const e = throwsCni(t, () => checkHostVethAlias(alias(`${net}n`, id, "eth0"), `${net}n`, id, "eth0"), 7, /host veth's alias .* would be 255 bytes, the kernel keeps at most 254/);
  t.match(e?.message, new RegExp(`use a network name of at most ${net.length} bytes`), "says the longest name that works");
  const longId = "c".repeat(MAX_ALIAS_BYTES - alias("k", "", "eth0").length + 1);
  throwsCni(t, () => checkHostVethAlias(alias("k", longId, "eth0"), "k", longId, "eth0"), 4, /CNI_CONTAINERID "c+\.\.\." is 240 bytes: .* would be 255 bytes.* at most 239 bytes/);
  checkHostVethAlias(alias("k", longId.slice(1), "eth0"), "k", longId.slice(1), "eth0");
});

t.test("ipMasq comment: 255 bytes fit, 256 do not", async (t) => {
  const id = "c".repeat(64);
  const net = "n".repeat(MAX_IPTABLES_COMMENT_BYTES - comment("", id).length);
  t.equal(comment(net, id).length, MAX_IPTABLES_COMMENT_BYTES);
  checkIptablesComment(comment(net, id), net, id);
  throwsCni(t, () => checkIptablesComment(comment(`${net}n`, id), `${net}n`, id), 7, /rules' comment would be 256 bytes, iptables takes at most 255/);
  const longId = "c".repeat(200);
  throwsCni(t, () => checkIptablesComment(comment("n".repeat(60), longId), "n".repeat(60), longId), 4, /CNI_CONTAINERID "c+\.\.\." is 200 bytes/);
});
