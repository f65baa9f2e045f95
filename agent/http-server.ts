// agent/http-server: /healthz (200 while the last good sync is fresh, 503 when stale or never synced; JSON
// body) and /metrics (Prometheus text) on a local address. Async (node:http); the handlers only read
// the agent's state, so a scrape never triggers kernel work.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ListenAddress } from "./config.js";

export interface HttpHandlers {
  readonly health: () => { status: number; body: unknown };
  readonly metrics: () => string;
}

export interface RunningHttpServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

export function startHttpServer(listen: ListenAddress, handlers: HttpHandlers): Promise<RunningHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      const { status, body } = handlers.health();
      res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
    } else if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(handlers.metrics());
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz or /metrics\n");
    }
  });
  // Scrapers keep connections alive; they must not hold the process open at shutdown.
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      const a = server.address() as AddressInfo;
      resolve({
        address: { host: a.address, port: a.port },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
