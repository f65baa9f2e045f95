// plugin/commands: the PluginCommands that plugin/main.ts dispatches to. `bridgeCommands` serves the types
// kubenet and bridge (kubenet's defaults come from core/cni/netconf); `loopbackCommands` the reference
// loopback plugin. (host-local's commands live in plugin/ipam/commands.ts.)

import { loopbackAdd, loopbackCheck, loopbackDel } from "../bridge/loopback.js";
import type { PluginCommands } from "../types.js";
import { cmdAdd } from "./add.js";
import { cmdCheck } from "./check.js";
import { cmdDel } from "./del.js";
import { cmdGc } from "./gc.js";
import { cmdStatus } from "./status.js";

export const bridgeCommands: PluginCommands = {
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  gc: cmdGc,
  status: cmdStatus,
};

export const loopbackCommands: PluginCommands = {
  add: (req) => loopbackAdd(req),
  del: (req) => loopbackDel(req),
  check: (req) => loopbackCheck(req),
  // Nothing outlives the pod's netns: nothing to collect, always ready (as the reference).
  gc: () => undefined,
  status: () => undefined,
};
