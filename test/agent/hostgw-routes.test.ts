// The article's cluster end to end (test/agent/cluster-support.ts), --routes host-gw.

import t from "tap";
import { KERNEL_SKIP } from "../support/netns.js";
import { checkJoinLeave, checkTraffic, startCluster } from "./cluster-support.js";

// Two agents load the Kubernetes client and a dozen namespaces come and go: slow on a loaded machine.
t.setTimeout(900_000);

t.test("article cluster: --routes host-gw", { skip: KERNEL_SKIP }, async (t) => {
  const cluster = await startCluster(t, "host-gw");
  await checkTraffic(t, cluster, "host-gw");
  await checkJoinLeave(t, cluster);
});
