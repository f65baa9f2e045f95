// agent/reconcilers/conflist: the CNI network config list for our `kubenet` plugin type: rendered from the
// PodCIDRs (pure), written atomically into the CNI config dir only when its content changes (async fs).
// Other files in the directory are never touched; one that sorts before ours is reported, because
// containerd and CRI-O use the lexicographically first file.

import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KUBENET_NETWORK, KUBENET_TYPE, type KubenetConflist } from "../../core/cni/conflist.js";
import { formatCidr, formatIp, networkOf, nthAddress, type IpFamily, type IpNet } from "../../core/ip.js";

export const DEFAULT_CONFLIST_NAME = "05-kubenet.conflist";
/**
 * 1.0.0, not 1.1.0: containerd 1.7 (libcni 1.1) cannot read 1.1.0 results. Set --cni-version 1.1.0 on
 * runtimes with libcni >= 1.2 (containerd 2.x) to get GC and STATUS.
 */
export const DEFAULT_CNI_VERSION = "1.0.0";

export interface ConflistInput {
  /** Network-form PodCIDRs, at most one per family, in the Node's order. */
  readonly podCidrs: readonly IpNet[];
  readonly bridge: string;
  readonly mtu: number;
  /** host-local's dataDir (leases go to <dataDir>/kubenet/). */
  readonly ipamDataDir: string;
  readonly cniVersion: string;
  /**
   * Runtime capabilities the plugin declares ({"bandwidth": true}): the runtime then passes the pod's values
   * in runtimeConfig (containerd: the kubernetes.io/ingress-bandwidth annotations). Omitted when empty.
   */
  readonly capabilities?: Readonly<Record<string, boolean>>;
  /** The CNI service's socket ("off": the executable never tries one); absent = the key is not written. */
  readonly agentSocket?: string | undefined;
}

/** The gateway of a PodCIDR: its first address (network + 1), as kubenet configured it. */
export function gatewayOf(podCidr: IpNet): IpNet {
  return { addr: nthAddress(podCidr, 1), prefixLen: podCidr.prefixLen };
}

const DEFAULT_ROUTE: Record<IpFamily, string> = { 4: "0.0.0.0/0", 6: "::/0" };

/** The conflist text (stable key order, two-space indent, trailing newline). */
export function renderConflist(input: ConflistInput): string {
  const families = [...new Set(input.podCidrs.map((c) => c.addr.family))];
  const conf: KubenetConflist = {
    cniVersion: input.cniVersion,
    name: KUBENET_NETWORK,
    plugins: [
      {
        type: KUBENET_TYPE,
        bridge: input.bridge,
        mtu: input.mtu,
        hairpinMode: true,
        isGateway: true,
        isDefaultGateway: true,
        forceAddress: true,
        ...(input.agentSocket !== undefined ? { agentSocket: input.agentSocket } : {}),
        ipam: {
          type: "host-local",
          ranges: input.podCidrs.map((c) => [{ subnet: formatCidr(networkOf(c)), gateway: formatIp(gatewayOf(c).addr) }]),
          routes: families.map((f) => ({ dst: DEFAULT_ROUTE[f] })),
          dataDir: input.ipamDataDir,
        },
        ...(input.capabilities !== undefined && Object.keys(input.capabilities).length > 0 ? { capabilities: input.capabilities } : {}),
      },
    ],
  };
  return `${JSON.stringify(conf, null, 2)}\n`;
}

export interface ConflistSyncResult {
  readonly wrote: boolean;
  /** Config files that sort before ours and would be used instead (empty when ours is first). */
  readonly shadowedBy: readonly string[];
}

/** The files libcni considers, in the order it considers them. */
export function cniConfigFiles(names: readonly string[]): string[] {
  // Byte-wise sort, as Go's sort.Strings; libcni reads *.conf, *.conflist and *.json.
  return names.filter((n) => /\.(conf|conflist|json)$/.test(n) && !n.startsWith(".")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Writes `content` to <dir>/<name> unless the file already holds exactly that. The write goes to a hidden
 * temp file in the same directory (ignored by libcni: wrong extension) and is renamed over the target, so a
 * runtime watching the directory never reads a half-written config.
 */
export async function syncConflist(dir: string, name: string, content: string): Promise<ConflistSyncResult> {
  const path = join(dir, name);
  const current = await readFile(path, "utf8").catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  });
  let wrote = false;
  if (current !== content) {
    // The runtime watches this directory; on a fresh node it may not exist yet.
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const tmp = join(dir, `.${name}.tmp-${randomBytes(4).toString("hex")}`);
    try {
      await writeFile(tmp, content, { mode: 0o644, flush: true });
      await rename(tmp, path);
    } catch (cause) {
      await rm(tmp, { force: true });
      throw new Error(`Cannot write the CNI config ${JSON.stringify(path)}`, { cause });
    }
    wrote = true;
  }
  const files = cniConfigFiles(await readdir(dir));
  return { wrote, shadowedBy: files.slice(0, Math.max(0, files.indexOf(name))) };
}

/**
 * Removes <dir>/<name> when it is a conflist we wrote (network "kubenet" with a "kubenet" plugin);
 * anything else of that name is left alone. Returns true when a file was removed.
 */
export async function removeConflist(dir: string, name: string): Promise<boolean> {
  const path = join(dir, name);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
  if (!isOurConflist(text)) return false;
  await rm(path, { force: true });
  return true;
}

function isOurConflist(text: string): boolean {
  try {
    const doc = JSON.parse(text) as { name?: unknown; plugins?: unknown };
    return doc.name === KUBENET_NETWORK && Array.isArray(doc.plugins) && doc.plugins.some((p) => (p as { type?: unknown } | null)?.type === KUBENET_TYPE);
  } catch {
    return false;
  }
}
