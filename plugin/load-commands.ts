// plugin/load-commands: a plugin name to its commands, each loaded only when that plugin runs (dynamic imports
// only: the thin client's static graph stays free of the commands, native/ and koffi). Used by the executable's
// in-process path (./main.ts) and the agent's service threads (./service-worker.ts).

import type { PluginName } from "../core/cni/netconf.js";
import type { PluginCommands } from "./types.js";

export async function loadCommands(plugin: PluginName): Promise<PluginCommands> {
  if (plugin === "host-local") return (await import("./ipam/commands.js")).hostLocalCommands;
  if (plugin === "bandwidth") return (await import("./bandwidth/commands.js")).bandwidthCommands;
  if (plugin === "portmap") return (await import("./portmap/commands.js")).portmapCommands;
  const datapath = await import("./commands/index.js");
  return plugin === "loopback" ? datapath.loopbackCommands : datapath.bridgeCommands;
}
