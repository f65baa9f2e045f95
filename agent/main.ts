// agent/main: the kubenet-agent executable: the only agent file that touches process (argv, env, stdio,
// signals, exit codes). Everything it calls takes these as parameters.
// Exit codes: 0 ok, 1 a sync or cleanup failed, 2 usage error, 3 (--once) no PodCIDR assigned.

import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { Agent } from "./agent.js";
import { startCniService, type RunningCniService } from "./cni-service/service.js";
import { runCleanup } from "./cleanup.js";
import { parseCli, USAGE, type Command } from "./cli.js";
import { UsageError } from "./flag-values.js";
import type { AgentConfig } from "./config.js";
import { createHostDeps } from "./host.js";
import { startHttpServer, type RunningHttpServer } from "./http-server.js";
import { createLogger, describeError, type Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { createPeerSource, createSource } from "./sources/create.js";
import type { PeerSource } from "./sources/peers.js";
import type { PodCidrSource } from "./sources/pod-cidrs.js";
import { startGcSweep } from "./start-gc.js";

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_NOT_READY = 3;
/** --once in Kubernetes mode: how long to wait for the first list of the Node. */
const ONCE_LIST_TIMEOUT_MS = 30_000;

/** --once: waits (bounded) for the sources' first answer, syncs once, prints the report. */
async function runOnce(agent: Agent, source: PodCidrSource, peers: PeerSource | undefined, log: Logger): Promise<number> {
  const controller = new AbortController();
  const sourceDone = source.run(() => undefined, controller.signal);
  const peersDone = peers?.run(() => undefined, controller.signal);
  const firstAnswers = Promise.all([source.synced(), peers?.synced()]);
  const listed = await Promise.race([firstAnswers.then(() => true), delay(ONCE_LIST_TIMEOUT_MS).then(() => false)]);
  if (!listed) log.warn("No answer from the PodCIDR source in time", { timeoutMs: ONCE_LIST_TIMEOUT_MS });
  const report = await agent.sync();
  controller.abort();
  await sourceDone;
  await peersDone;
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return !report.ready ? EXIT_NOT_READY : report.ok ? EXIT_OK : EXIT_FAILED;
}

async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCli(argv, { nodeName: process.env["NODE_NAME"], hostname: hostname(), readFile: (p) => readFileSync(p, "utf8") });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`kubenet-agent: ${err.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (command.kind === "help") {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  const log = createLogger((line) => process.stderr.write(line), command.config.logLevel);
  const host = createHostDeps({ lockWaitSeconds: command.config.lockWaitSeconds });

  if (command.kind === "cleanup") {
    const report = await runCleanup(command.config, host, log);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.errors.length === 0 ? EXIT_OK : EXIT_FAILED;
  }

  if (command.kind === "serve") return serveOnly(command.config, log);

  const { config } = command;
  const source = await createSource(config.source, log);
  const peers = await createPeerSource(config, log);
  const agent = new Agent({ config, source, host, log, ...(peers === undefined ? {} : { peers }) });
  if (command.once) return runOnce(agent, source, peers, log);
  const controller = new AbortController();

  let server: RunningHttpServer | undefined;
  if (config.listen !== undefined) {
    server = await startHttpServer(config.listen, { health: () => agent.health(), metrics: () => agent.renderMetrics() });
    log.info("Serving /healthz and /metrics", { address: `${server.address.host}:${server.address.port}` });
  }
  const stop = (signal: string): void => {
    if (controller.signal.aborted) return;
    // The datapath stays as the last sync made it: pods keep working while the agent restarts.
    log.info("Stopping", { signal });
    controller.abort();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  log.info("kubenet-agent starting", {
    source: config.source.kind,
    resyncInterval: `${config.resyncIntervalMs}ms`,
    cniConfig: `${config.cniConfDir}/${config.cniConfName}`,
  });
  // Not awaited before the first sync: the service's start must not delay the node's conflist.
  const cni = config.cniSocket === undefined ? undefined : startCni(config.cniSocket, config.cniWorkers, log, agent.metrics);
  startGcSweep({ config, agent, host, log, signal: controller.signal, self: { execPath: process.execPath, script: process.argv[1] } });
  await agent.run(controller.signal);
  await (await cni)?.close();
  await server?.close();
  log.info("kubenet-agent stopped");
  return EXIT_OK;
}

/** The plugin's worker entry, built beside the agent (dist/kubenet-cni-worker.js). */
function workerScript(): string {
  return resolve(dirname(process.argv[1] ?? process.execPath), "kubenet-cni-worker.js");
}

/** Starts the CNI service; without it the agent still runs (the executable then does the work itself). */
async function startCni(socketPath: string, maxWorkers: number, log: Logger, metrics: Metrics): Promise<RunningCniService | undefined> {
  const script = workerScript();
  if (!existsSync(script)) {
    log.error("CNI service not started: its worker script is missing (the kubenet executable runs requests itself)", { script });
    return undefined;
  }
  try {
    const svc = await startCniService({ socketPath, workerScript: script, maxWorkers, log, metrics, euid: process.geteuid?.() ?? 0 });
    log.info("Serving CNI requests", { socket: socketPath, maxWorkers });
    return svc;
  } catch (err) {
    log.error("CNI service not started (the kubenet executable runs requests itself)", { socket: socketPath, error: describeError(err) });
    return undefined;
  }
}

/** `serve`: the CNI service alone (plus /metrics and a trivial /healthz when --listen is on). */
async function serveOnly(config: Omit<AgentConfig, "source"> & { readonly cniSocket: string }, log: Logger): Promise<number> {
  const metrics = new Metrics();
  const cni = await startCni(config.cniSocket, config.cniWorkers, log, metrics);
  if (cni === undefined) return EXIT_FAILED;
  const server =
    config.listen === undefined
      ? undefined
      : await startHttpServer(config.listen, { health: () => ({ status: 200, body: { ok: true } }), metrics: () => metrics.render() });
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  await cni.close();
  await server?.close();
  return EXIT_OK;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

// process.exit, not exitCode: an idle keep-alive connection of the Kubernetes client must not keep a
// stopped agent alive. stdout/stderr are pipes or files here, which Node writes synchronously on Linux.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "kubenet-agent failed", error: describeError(err) })}\n`);
    process.exit(EXIT_FAILED);
  },
);
