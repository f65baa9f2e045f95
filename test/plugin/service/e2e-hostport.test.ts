// Service-mode twin of ../e2e-hostport.test.ts: the same tests, with an agent CNI service (kubenet-agent serve)
// answering every call of our executable, the kubenet type's hostPorts and the portmap drop-in alike (see
// test/support/plugin-harness.ts CNI_MODE).
process.env["KUBENET_CNI_MODE"] = "service";
await import("../e2e-hostport.test.js");
