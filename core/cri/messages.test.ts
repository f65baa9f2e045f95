import t from "tap";
import {
  NAMESPACE_MODE_CONTAINER,
  decodeListPodSandboxResponse,
  decodePodSandboxStatusResponse,
  encodeListPodSandboxRequest,
  encodeRunPodSandboxRequest,
} from "./messages.js";
import { ProtoReader, ProtoWriter } from "./wire.js";

t.test("RunPodSandboxRequest carries what kubelet sends, at api.proto's field numbers", async (t) => {
  const buf = encodeRunPodSandboxRequest({
    metadata: { name: "web", uid: "u1", namespace: "default", attempt: 1 },
    hostname: "web",
    portMappings: [{ containerPort: 80, hostPort: 8080 }],
    labels: { app: "web" },
    linux: { cgroupParent: "/kubepods", pidMode: NAMESPACE_MODE_CONTAINER },
  }, "runc");
  const req = new ProtoReader(buf);
  t.equal(req.string(2), "runc", "runtime_handler = 2");
  const config = req.message(1);
  t.equal(config?.message(1)?.string(1), "web", "config.metadata.name");
  t.equal(config?.message(1)?.string(3), "default", "config.metadata.namespace");
  t.equal(config?.message(1)?.int(4), 1, "config.metadata.attempt");
  t.equal(config?.string(2), "web", "hostname = 2");
  t.equal(config?.repeatedMessages(5)[0]?.int(2), 80, "port_mappings[0].container_port");
  t.equal(config?.repeatedMessages(5)[0]?.int(3), 8080, "port_mappings[0].host_port");
  t.same(config?.map(6), { app: "web" }, "labels = 6");
  const linux = config?.message(8);
  t.equal(linux?.string(1), "/kubepods", "linux.cgroup_parent");
  const ns = linux?.message(2)?.message(1);
  t.equal(ns?.int(1), 0, "network POD (0, not written)");
  t.equal(ns?.int(2), NAMESPACE_MODE_CONTAINER, "pid CONTAINER");
});

t.test("ListPodSandbox: filter by id; response decoded with state and labels", async (t) => {
  t.equal(Buffer.from(encodeListPodSandboxRequest()).toString("hex"), "", "no filter");
  t.equal(new ProtoReader(encodeListPodSandboxRequest("abc")).message(1)?.string(1), "abc", "filter.id");
  const resp = new ProtoWriter()
    .message(1, (p) => p.string(1, "s1").message(2, (m) => m.string(1, "a")).int(3, 0).int(4, 42).map(5, { x: "y" }))
    .message(1, (p) => p.string(1, "s2").int(3, 1))
    .finish();
  const list = decodeListPodSandboxResponse(resp);
  t.same(list.map((p) => [p.id, p.state, p.metadata.name]), [["s1", "ready", "a"], ["s2", "notready", ""]]);
  t.equal(list[0]?.createdAt, 42n);
  t.same(list[0]?.labels, { x: "y" });
});

t.test("PodSandboxStatus: IPs (primary + additional) and the verbose info map", async (t) => {
  const resp = new ProtoWriter()
    .message(1, (s) => s.string(1, "s1").int(3, 0).message(5, (n) => n.string(1, "10.0.0.2").message(2, (ip) => ip.string(1, "fd00::2"))))
    .map(2, { info: '{"pid":7}' })
    .finish();
  const st = decodePodSandboxStatusResponse(resp);
  t.same(st?.ips, ["10.0.0.2", "fd00::2"]);
  t.equal(st?.info["info"], '{"pid":7}');
  t.equal(decodePodSandboxStatusResponse(new Uint8Array()), undefined, "no status");
});
