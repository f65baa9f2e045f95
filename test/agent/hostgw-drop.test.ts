// The article's cluster end to end (test/agent/cluster-support.ts), --routes host-gw with the FORWARD policy DROP on both nodes.

import t from "tap";
import { KERNEL_SKIP } from "../support/netns.js";
import { checkJoinLeave, checkTraffic, pings, startCluster } from "./cluster-support.js";

// Two agents load the Kubernetes client and a dozen namespaces come and go: slow on a loaded machine.
t.setTimeout(900_000);

t.test("article cluster: --routes host-gw with the FORWARD policy DROP on both nodes", { skip: KERNEL_SKIP }, async (t) => {
  const cluster = await startCluster(t, "host-gw-drop");
  await checkTraffic(t, cluster, "host-gw-drop");
  await checkJoinLeave(t, cluster);
  // The check can fail: without our jump (the agent puts it back at the next resync, 60 s away), DROP wins.
  const [w1, w2] = cluster.workers;
  for (const w of cluster.workers) {
    w.ns.exec("iptables-nft", ["-D", "FORWARD", "-m", "comment", "--comment", "kubenet: pod traffic is forwarded whatever the FORWARD policy", "-j", "KUBENET-FORWARD"]);
  }
  t.notOk(pings(w1.pod, w2.podIp), "without KUBENET-FORWARD the DROP policy stops pod traffic");
});
