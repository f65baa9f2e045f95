// plugin/ipam/commands: the executable as a drop-in `host-local` (invoked as host-local, or a config of
// type host-local given to kubenet): ADD prints the abbreviated result (no interfaces), DEL/CHECK/GC/STATUS
// act on the lease directory. Synchronous.

import type { PluginCommands } from "../types.js";
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from "./index.js";

export const hostLocalCommands: PluginCommands = {
  add: (req, ctx) => ipamAdd({ ...req, ctx }),
  del: (req, ctx) => ipamDel({ ...req, ctx }),
  check: (req, ctx) => ipamCheck({ ...req, ctx }),
  gc: (req, ctx) => ipamGc(req.conf, req.validAttachments, ctx, req.cniPath),
  status: (req, ctx) => ipamStatus(req.conf, ctx, req.cniPath),
};
