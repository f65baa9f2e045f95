import t from "tap";
import { parseBandwidth } from "./bandwidth.js";
import { goField } from "./go-json.js";
import { parsePortMappings } from "./portmap-conf.js";

t.test("goField: the exact key first, else a key equal ignoring case (Go's encoding/json)", async (t) => {
  t.equal(goField({ hostPort: 1, HostPort: 2 }, "hostPort"), 1, "exact wins");
  t.equal(goField({ HostPort: 2 }, "hostPort"), 2);
  t.equal(goField({ HOSTPORT: 3 }, "hostPort"), 3);
  t.equal(goField({ host_port: 4 }, "hostPort"), undefined, "not a spelling Go accepts");
  t.equal(goField({}, "hostPort"), undefined);
});

t.test("containerd's go-cni spelling of the capability arguments (struct fields without json tags)", async (t) => {
  // What containerd 1.6/1.7 passes for a pod with hostPort 8080 -> 80/TCP and no hostIP.
  const containerd = { portMappings: [{ HostPort: 8080, ContainerPort: 80, Protocol: "tcp", HostIP: "" }, { HostPort: 53, ContainerPort: 53, Protocol: "udp", HostIP: "127.0.0.1" }] };
  const m = parsePortMappings(containerd);
  t.same(m.map((x) => [x.hostPort, x.containerPort, x.protocol, x.hostIp?.family]), [[8080, 80, "tcp", undefined], [53, 53, "udp", 4]]);
  t.throws(() => parsePortMappings({ portMappings: [{ HostPort: "8080", ContainerPort: 80 }] }), /hostPort must be an integer, got "8080"/);
  t.same(parseBandwidth({}, { bandwidth: { IngressRate: 8_000_000, IngressBurst: 800_000, EgressRate: 0, EgressBurst: 0 } }), {
    ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 0, egressBurst: 0,
  });
});
