// test/support/malformed-inputs: malformed prevResult shapes and other malformed DEL hints, shared by the
// unit tests of the config parser and the end-to-end DEL tests.

/** prevResult shapes a buggy runtime (or a hand-edited cache) could send; each is invalid for decoding. */
export const MALFORMED_PREV_RESULTS: readonly (readonly [string, unknown])[] = [
  ["a string", "garbage"],
  ["a number", 42],
  ["true", true],
  ["an empty list", []],
  ["a list of results", [{ cniVersion: "1.0.0", ips: [] }]],
  ["an unsupported cniVersion", { cniVersion: "9.9.9", ips: [] }],
  ["a numeric cniVersion", { cniVersion: 1, ips: [] }],
  ["ips not a list", { cniVersion: "1.0.0", ips: "10.1.0.2/24" }],
  ["ips of numbers", { cniVersion: "1.0.0", ips: [1, 2] }],
  ["ips[0] null", { cniVersion: "1.0.0", ips: [null] }],
  ["an address of the wrong type", { cniVersion: "1.0.0", ips: [{ address: 167837698 }] }],
  ["an address without prefix", { cniVersion: "1.0.0", ips: [{ address: "10.1.0.2" }] }],
  ["an address that is no IP", { cniVersion: "1.0.0", ips: [{ address: "pod/24" }] }],
  ["a gateway of the wrong family", { cniVersion: "1.0.0", ips: [{ address: "10.1.0.2/24", gateway: "fd00::1" }] }],
  ["an interface index out of range", { cniVersion: "1.0.0", interfaces: [], ips: [{ address: "10.1.0.2/24", interface: 7 }] }],
  ["an interface index that is a string", { cniVersion: "1.0.0", interfaces: [{ name: "eth0" }], ips: [{ address: "10.1.0.2/24", interface: "0" }] }],
  ["a version that does not match", { cniVersion: "0.3.1", ips: [{ version: "6", address: "10.1.0.2/24" }] }],
  ["interfaces not a list", { cniVersion: "1.0.0", interfaces: { name: "eth0" } }],
  ["an interface without name", { cniVersion: "1.0.0", interfaces: [{ mac: "aa:bb:cc:dd:ee:ff" }] }],
  ["an interface name of the wrong type", { cniVersion: "1.0.0", interfaces: [{ name: 0 }] }],
  ["routes not a list", { cniVersion: "1.0.0", routes: "default" }],
  ["a route without dst", { cniVersion: "1.0.0", routes: [{ gw: "10.1.0.1" }] }],
  ["a route gw that is no IP", { cniVersion: "1.0.0", routes: [{ dst: "0.0.0.0/0", gw: "gateway" }] }],
  ["dns not an object", { cniVersion: "1.0.0", dns: "8.8.8.8" }],
  ["dns nameservers not a list", { cniVersion: "1.0.0", dns: { nameservers: "8.8.8.8" } }],
  ["a 0.2.0 ip4 that is a string", { cniVersion: "0.2.0", ip4: "10.1.0.2/24" }],
  ["a 0.2.0 ip4 without ip", { cniVersion: "0.2.0", ip4: { gateway: "10.1.0.1" } }],
];

/** Other fields a DEL does not need, malformed: each must be ignored (logged), never block the cleanup. */
export const MALFORMED_HINTS: readonly [string, Record<string, unknown>][] = [
  ["dns a number", { dns: 5 }],
  ["runtimeConfig a string", { runtimeConfig: "x" }],
  ["runtimeConfig.ips with a bad address", { runtimeConfig: { ips: ["nope"] } }],
  ["runtimeConfig.mac not a MAC", { runtimeConfig: { mac: "zz" } }],
  ["args a list", { args: [] }],
  ["args.cni.ips not a list", { args: { cni: { ips: "10.1.0.9" } } }],
  ["mtu a string", { mtu: "1500" }],
  ["mtu out of range", { mtu: 10 }],
  ["bridge a number", { bridge: 7 }],
  ["hairpinMode and promiscMode", { hairpinMode: true, promiscMode: true }],
  ["lockTimeoutMs a string", { lockTimeoutMs: "soon" }],
  ["logFile a number", { logFile: 1 }],
  ["cni.dev/valid-attachments a string", { "cni.dev/valid-attachments": "all" }],
];

