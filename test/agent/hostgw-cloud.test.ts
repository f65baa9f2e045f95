// The article's cluster end to end (test/agent/cluster-support.ts), routes from a router's table (the cloud), --routes off.

import t from "tap";
import { KERNEL_SKIP } from "../support/netns.js";
import { checkTraffic, startCluster } from "./cluster-support.js";

// Two agents load the Kubernetes client and a dozen namespaces come and go: slow on a loaded machine.
t.setTimeout(900_000);

t.test("article cluster: routes from a router's table (the cloud), --routes off", { skip: KERNEL_SKIP }, async (t) => {
  const cluster = await startCluster(t, "cloud");
  await checkTraffic(t, cluster, "cloud");
  // A third node: the cloud adds its route on the router; the agents (routing off) add none.
  cluster.api.setNode("w3", { podCIDR: "172.20.3.0/24", podCIDRs: ["172.20.3.0/24"] }, { addresses: [{ type: "InternalIP", address: "10.0.1.200" }] });
  await new Promise((r) => setTimeout(r, 1000));
  t.same(cluster.workers.map((w) => w.ns.ipJson(["route", "show", "proto", "107"])), [[], []], "no host-gw route with --routes off");
});
