// agent/cni-service/socket-file: the service's unix socket on disk. The directory is the access control
// (0700, root's or ours, never a symlink), the socket itself 0600; the socket is bound under a temp name,
// chmod'ed, then renamed over the public path: that path never exists with a looser mode, and a stale socket
// of a dead (or restarting) agent is replaced in one step. Async (node:net listen), node:fs for the rest.

import { chmodSync, lstatSync, mkdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import type { Server } from "node:net";
import { basename, dirname, join } from "node:path";

class SocketPathError extends Error {
  override readonly name = "SocketPathError";
}

/** Creates the socket's directory (0700) or checks and tightens an existing one. */
function ensureSocketDir(dir: string, euid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new SocketPathError(`${JSON.stringify(dir)} is not a directory (a symlink?): the CNI socket's directory must be a real directory`);
  if (st.uid !== 0 && st.uid !== euid) {
    throw new SocketPathError(`${JSON.stringify(dir)} belongs to uid ${st.uid}: the CNI socket's directory must be root's (or the agent's)`);
  }
  // A hostPath DirectoryOrCreate is 0755: only root may reach the socket, so the directory is 0700.
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

/** The inode of the socket we bound (so shutdown removes our socket, never a successor's). */
export interface BoundSocket {
  readonly path: string;
  readonly ino: number;
  /** Unlinks the path when it is still our socket; returns whether it did. */
  unlinkIfOurs(): boolean;
}

/** Binds `server` at `path`: temp name in the same directory, 0600, rename over `path`. */
export async function listenAtomically(server: Server, path: string, euid: number): Promise<BoundSocket> {
  const dir = dirname(path);
  ensureSocketDir(dir, euid);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    unlinkSync(tmp); // our own leftover from a crash with the same pid
  } catch {
    // none
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(tmp, () => {
      server.off("error", reject);
      resolve();
    });
  });
  try {
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (e) {
    server.close();
    throw e;
  }
  const ino = statSync(path).ino;
  return {
    path,
    ino,
    unlinkIfOurs() {
      try {
        if (statSync(path).ino !== ino) return false;
        unlinkSync(path);
        return true;
      } catch {
        return false;
      }
    },
  };
}
