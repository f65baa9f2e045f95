// test/agent/fake-apiserver: a small Kubernetes API server for Node objects that speaks the real list/watch
// protocol, so the agent's Kubernetes source (the @kubernetes/client-node code a real cluster runs) can be
// tested without a kube-apiserver:
//   GET /api/v1/nodes/<name>                                   the Node, or a 404 Status
//   GET /api/v1/nodes?fieldSelector=metadata.name=<name>       a NodeList with metadata.resourceVersion
//   GET /api/v1/nodes?watch=true|1&fieldSelector=...&resourceVersion=N
//        chunked JSON lines {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}: first every
//        event after N from the history, then live events; a resourceVersion older than the compacted
//        history gets an ERROR event with a Status of code 410 (Gone) and the stream is closed, as the real
//        server does.
// Test controls: setNode/patchPodCidrs/deleteNode (emit events), closeWatches, expireWatches (410 on open streams),
// compact, failNext (HTTP errors), and a request log.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import type { Teardownable, TestNetns } from "../support/netns.js";

export interface FakeNode {
  readonly apiVersion: "v1";
  readonly kind: "Node";
  metadata: { name: string; resourceVersion: string; uid: string; labels?: Record<string, string> };
  spec: { podCIDR?: string; podCIDRs?: string[]; providerID?: string };
  status: Record<string, unknown>;
}

interface WatchEvent {
  readonly rv: number;
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly node: FakeNode;
}

interface OpenWatch {
  readonly name: string | undefined;
  readonly res: ServerResponse;
}

export interface LoggedRequest {
  readonly at: number; // performance.now()
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
}

export class FakeApiServer {
  readonly #server: Server;
  readonly #nodes = new Map<string, FakeNode>();
  readonly #history: WatchEvent[] = [];
  readonly #watches = new Set<OpenWatch>();
  #rv = 100;
  /** Watches from a resourceVersion below this are answered 410 Gone. */
  #compactedBelow = 0;
  #failures: number[] = [];
  readonly requests: LoggedRequest[] = [];
  /** performance.now() of the last event written to open watch streams. */
  lastEventSentAt = 0;

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  async listen(host: string, port = 0): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => resolve());
    });
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  async close(): Promise<void> {
    this.closeWatches();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  /** Creates or replaces a Node (ADDED or MODIFIED event); `status` undefined keeps the current one. */
  setNode(name: string, spec: FakeNode["spec"] = {}, status?: FakeNode["status"]): FakeNode {
    const existing = this.#nodes.get(name);
    const node: FakeNode = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, resourceVersion: String(++this.#rv), uid: existing?.metadata.uid ?? `uid-${name}` },
      spec: { ...spec },
      status: status ?? existing?.status ?? {},
    };
    this.#nodes.set(name, node);
    this.#emit({ rv: this.#rv, type: existing === undefined ? "ADDED" : "MODIFIED", node });
    return node;
  }

  /** Sets spec.podCIDR and spec.podCIDRs as the node IPAM controller does (a MODIFIED event). */
  patchPodCidrs(name: string, cidrs: readonly string[]): FakeNode {
    const [first] = cidrs;
    return this.setNode(name, first === undefined ? {} : { podCIDR: first, podCIDRs: [...cidrs] });
  }

  /** Deletes a Node (a DELETED event carrying its last state). */
  deleteNode(name: string): void {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    this.#nodes.delete(name);
    this.#emit({ rv: ++this.#rv, type: "DELETED", node: { ...n, metadata: { ...n.metadata, resourceVersion: String(this.#rv) } } });
  }

  /** An unrelated change (labels): a MODIFIED event that does not touch the PodCIDR. */
  touch(name: string): void {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    this.setNode(name, n.spec);
  }

  /** Ends every open watch stream cleanly (what the server does at its timeout or on restart). */
  closeWatches(): void {
    for (const w of this.#watches) w.res.end();
    this.#watches.clear();
  }

  /** Sends an ERROR event with a 410 Status to every open stream and closes it (watch cache expired). */
  expireWatches(): void {
    for (const w of this.#watches) {
      w.res.write(`${JSON.stringify({ type: "ERROR", object: goneStatus("watch expired") })}\n`);
      w.res.end();
    }
    this.#watches.clear();
  }

  /**
   * Forgets the history: resuming from any resourceVersion seen so far gets 410 Gone. The global
   * resourceVersion moves on (other objects changed meanwhile), so a relist yields a usable one.
   */
  compact(): void {
    this.#rv++;
    this.#compactedBelow = this.#rv;
    this.#history.length = 0;
  }

  /** The next `count` requests fail with `status`. */
  failNext(count: number, status = 503): void {
    for (let i = 0; i < count; i++) this.#failures.push(status);
  }

  #emit(ev: WatchEvent): void {
    this.#history.push(ev);
    for (const w of this.#watches) {
      if (w.name !== undefined && w.name !== ev.node.metadata.name) continue;
      w.res.write(`${JSON.stringify({ type: ev.type, object: ev.node })}\n`);
      this.lastEventSentAt = performance.now();
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    const log = (status: number): void => {
      this.requests.push({ at: performance.now(), method: req.method ?? "", path: url.pathname, query, status });
    };
    const failure = this.#failures.shift();
    if (failure !== undefined) {
      log(failure);
      sendJson(res, failure, status(failure, "Failure", `injected failure ${failure}`, "ServiceUnavailable"));
      return;
    }
    if (req.method !== "GET") {
      log(405);
      sendJson(res, 405, status(405, "Failure", "method not allowed", "MethodNotAllowed"));
      return;
    }
    const one = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname);
    if (one !== null) {
      const node = this.#nodes.get(decodeURIComponent(one[1] ?? ""));
      log(node === undefined ? 404 : 200);
      if (node === undefined) sendJson(res, 404, status(404, "Failure", `nodes "${one[1]}" not found`, "NotFound"));
      else sendJson(res, 200, node);
      return;
    }
    if (url.pathname !== "/api/v1/nodes") {
      log(404);
      sendJson(res, 404, status(404, "Failure", "the server could not find the requested resource", "NotFound"));
      return;
    }
    const selector = query["fieldSelector"];
    let name: string | undefined;
    if (selector !== undefined && selector !== "") {
      const m = /^metadata\.name=(.+)$/.exec(selector);
      if (m === null) {
        log(400);
        sendJson(res, 400, status(400, "Failure", `unsupported field selector ${selector}`, "BadRequest"));
        return;
      }
      name = m[1];
    }
    const watch = query["watch"] === "true" || query["watch"] === "1";
    if (!watch) {
      log(200);
      const items = [...this.#nodes.values()].filter((n) => name === undefined || n.metadata.name === name);
      sendJson(res, 200, { kind: "NodeList", apiVersion: "v1", metadata: { resourceVersion: String(this.#rv) }, items });
      return;
    }
    log(200);
    const from = Number(query["resourceVersion"] ?? "0");
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    if (from !== 0 && from < this.#compactedBelow) {
      res.write(`${JSON.stringify({ type: "ERROR", object: goneStatus(`too old resource version: ${from} (${this.#compactedBelow})`) })}\n`);
      res.end();
      return;
    }
    for (const ev of this.#history) {
      if (ev.rv <= from || (name !== undefined && ev.node.metadata.name !== name)) continue;
      res.write(`${JSON.stringify({ type: ev.type, object: ev.node })}\n`);
    }
    const w: OpenWatch = { name, res };
    this.#watches.add(w);
    req.on("close", () => this.#watches.delete(w));
  }
}

function status(code: number, statusText: string, message: string, reason: string): object {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: statusText, message, reason, code };
}

function goneStatus(message: string): object {
  return status(410, "Failure", message, "Expired");
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A kubeconfig (JSON is valid YAML) pointing at the fake server over plain HTTP. */
export function kubeconfigFor(server: { host: string; port: number }): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "fake", cluster: { server: `http://${server.host}:${server.port}`, "insecure-skip-tls-verify": true } }],
    users: [{ name: "agent", user: { token: "fake-token" } }],
    contexts: [{ name: "fake", context: { cluster: "fake", user: "agent" } }],
    "current-context": "fake",
  });
}

/**
 * Links a node netns to the test sandbox's namespace (where this server listens) with a veth on a random
 * link-local /30, and returns the sandbox end's address for `FakeApiServer.listen`.
 */
export function linkNodeToApi(t: Teardownable, ns: TestNetns): string {
  const hostIf = `kta${randomBytes(3).toString("hex")}`;
  const a = randomInt(1, 254);
  const b = randomInt(0, 63) * 4;
  execFileSync("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "api0", "netns", ns.name]);
  t.teardown(() => {
    try {
      execFileSync("ip", ["link", "del", hostIf], { stdio: "ignore" });
    } catch {
      // already gone with the namespace
    }
  });
  execFileSync("ip", ["addr", "add", `169.254.${a}.${b + 1}/30`, "dev", hostIf]);
  execFileSync("ip", ["link", "set", hostIf, "up"]);
  ns.exec("ip", ["addr", "add", `169.254.${a}.${b + 2}/30`, "dev", "api0"]);
  ns.exec("ip", ["link", "set", "api0", "up"]);
  return `169.254.${a}.${b + 1}`;
}
