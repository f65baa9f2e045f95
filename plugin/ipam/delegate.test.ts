import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { throwsCni } from "../../test/support/assert-cni.js";
import { parseNetConf } from "../../core/cni/netconf.js";
import { formatCidr } from "../../core/ip.js";
import type { Logger, PluginContext } from "../types.js";
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus, type IpamCall } from "./index.js";

const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const dir = mkdtempSync(join(tmpdir(), "kubenet-delegate-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A fake IPAM plugin: records its CNI_COMMAND, CNI_CONTAINERID and stdin, then answers per $FAKE_MODE. */
writeFileSync(
  join(dir, "fake-ipam"),
  `#!/bin/sh
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME" >> "${dir}/calls"
cat > "${dir}/stdin"
case "$FAKE_MODE" in
  ok) echo '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.9.0.5/24","gateway":"10.9.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.9.0.53"]}}' ;;
  busy) echo '{"code":11,"msg":"pool locked","details":"try later"}'; exit 1 ;;
  garbage) echo 'not json'; exit 0 ;;
  badresult) echo '{"cniVersion":"1.0.0","ips":[{"address":"nope"}]}' ;;
  silent) echo "boom on stderr" >&2; exit 3 ;;
esac
`,
);
chmodSync(join(dir, "fake-ipam"), 0o755);

const stdin = JSON.stringify({ cniVersion: "1.0.0", name: "dnet", type: "bridge", ipam: { type: "fake-ipam", anything: [1, 2] } });
const conf = parseNetConf(stdin, "bridge");

function call(mode: string, cniPath: string[] = [dir]): IpamCall {
  const ctx: PluginContext = { log, env: { PATH: process.env["PATH"], FAKE_MODE: mode, CNI_CONTAINERID: "cid", CNI_IFNAME: "eth0" }, stdinBytes: Buffer.from(stdin) };
  return { containerId: "cid", ifName: "eth0", conf, cniPath, ctx, cniArgs: new Map() };
}

t.test("ADD: same env and the complete same stdin; result decoded from its own version", async (t) => {
  const r = await ipamAdd(call("ok", ["/nonexistent", dir]));
  t.same(r.ips.map((ip) => formatCidr(ip.address)), ["10.9.0.5/24"]);
  t.same(r.dns, { nameservers: ["10.9.0.53"] });
  t.equal(r.routes.length, 1);
  t.equal(readFileSync(join(dir, "stdin"), "utf8"), stdin, "the delegate got our stdin byte for byte");
  t.match(readFileSync(join(dir, "calls"), "utf8"), /^ADD cid eth0$/m);
});

t.test("DEL, CHECK, GC, STATUS are forwarded with their command", async (t) => {
  rmSync(join(dir, "calls"), { force: true });
  ipamDel(call("ok"));
  ipamCheck(call("ok"));
  ipamGc(conf, [], call("ok").ctx, [dir]);
  ipamStatus(conf, call("ok").ctx, [dir]);
  t.same(readFileSync(join(dir, "calls"), "utf8").split("\n").filter(Boolean).map((l) => l.split(" ")[0]), ["DEL", "CHECK", "GC", "STATUS"]);
});

t.test("failures", async (t) => {
  const e = throwsCni(t, () => ipamAdd(call("busy")), 11, /IPAM plugin "fake-ipam": pool locked/, "the delegate's code is kept");
  t.equal(e?.details, "try later");
  throwsCni(t, () => ipamDel(call("busy")), 11, /pool locked/);
  throwsCni(t, () => ipamAdd(call("garbage")), 106, /IPAM plugin "fake-ipam" ADD printed a result that is not JSON/);
  throwsCni(t, () => ipamAdd(call("badresult")), 106, /printed an invalid result: .*"address" is not a valid CIDR: "nope"/);
  throwsCni(t, () => ipamAdd(call("silent")), 106, /IPAM plugin "fake-ipam" ADD exited with status 3 without a CNI error/);
  throwsCni(t, () => ipamAdd(call("ok", ["/nonexistent"])), 7, /failed to find IPAM plugin "fake-ipam" in CNI_PATH "\/nonexistent"/);
  throwsCni(t, () => ipamAdd(call("ok", [])), 4, /CNI_PATH is empty: cannot find the IPAM plugin "fake-ipam"/);
});
