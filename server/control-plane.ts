// The control-plane process: one HTTP server for the dashboard (Next.js), the REST API, git, health and streams.
import { existsSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Duplex } from "node:stream";
import { getRequestListener } from "@hono/node-server";
import type { Config } from "./config.ts";
import type { Services } from "./context.ts";
import { createDb, useWriteAheadLog } from "./db/client.ts";
import type { Logger } from "./logger.ts";
import { API_BASE, createApi } from "./http/api.ts";
import { STREAM_PATH, StreamServer } from "./ws/stream.ts";
import { ExecSocketServer, isExecPath } from "./exec/exec-socket.ts";
import { ExecBroker } from "./exec/exec-broker.ts";
import { bootstrapAdmin } from "./auth/accounts.ts";
import { StreamHub } from "./ws/hub.ts";
import { AccessEvents } from "./auth/access-events.ts";
import { DISK_FULL_MESSAGE, errors, isDiskFull } from "./errors.ts";
import { GIT_PREFIX, GitEndpoint, HOOK_PATH } from "./git/endpoint.ts";
import { createBuildPipeline } from "./builds/pipeline.ts";
import { builderDirOf, sweepBuilderStores } from "./builds/builder-stores.ts";
import { handlePull, PULL_PREFIX } from "./registry/pull-proxy.ts";
import { startRegistry } from "./registry/registry.ts";
import type { RegistryInfo } from "./service-types.ts";
import { pruneLoginFailures } from "./auth/login.ts";
import { pruneExpiredDomainClaims } from "./domains/domains.ts";
import { AGENT_PATH, AgentHub } from "./nodes/agent-hub.ts";
import { Scheduler } from "./scheduler/scheduler.ts";
import { startAddonSync } from "./addons/sync.ts";
import { startAddonBackupSchedule } from "./addons/backups/schedule.ts";
import { AddonImages } from "./addons/image.ts";
import { SchedulerKick } from "./scheduler/kick.ts";
import { AgentControlSeam } from "./nodes/agent-control.ts";
import { startStatsIngest, type StatsIngest } from "./stats/ingest.ts";
import { StatsHistory } from "./stats/history.ts";
import { HaproxyRouter } from "./router/haproxy-router.ts";
import { startLogIngest } from "./logs/ingest.ts";
import { AppLogs } from "./logs/app-logs.ts";
import { StackRebuilds } from "./builds/stacks/rebuild-job.ts";
import { forwardPlatformLines } from "./logs/platform-lines.ts";
import { applySecurityHeaders, securityHeaders } from "./http/security-headers.ts";
import { startBackupSchedule } from "./backup/schedule.ts";
import { PlatformHealth } from "./health/platform-health.ts";
import { serveHealthz } from "./health/healthz.ts";
import {
  databaseProbe,
  diskProbe,
  nodesProbe,
  registryFailedProbe,
  registryProbe,
  routerFailedProbe,
  routerProbe,
} from "./health/probes.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface ControlPlaneOptions {
  config: Config;
  log: Logger;
  /** Serve the Next.js dashboard (off in API-only integration tests). */
  dashboard: boolean;
  /** Start the image registry (off in tests that do not build). */
  registry?: boolean;
  /** Start the HTTP router (HAProxy, docs/router.md) on config.routerPort (off in API-only tests). */
  router?: boolean;
  /**
   * Leave the router's HAProxy serving when the control plane stops (production: the next start adopts it with its
   * routes); tests stop it.
   */
  routerOutlives?: boolean;
}

export interface ControlPlane {
  services: Services;
  server: http.Server;
  streams: StreamServer;
  git: GitEndpoint;
  /** The ingest of the agents' stats into services.stats (started with the control plane). */
  statsIngest: StatsIngest;
  /** The running registry's address and credentials (throws when the registry is not started). */
  registry(): RegistryInfo;
  /** Listens on config.host:config.port (0 = random); resolves to the bound port. */
  listen(): Promise<number>;
  /** Stops accepting, tells stream clients to reconnect, waits for in-flight requests, closes the database. */
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function loadDashboard(config: Config, log: Logger) {
  const { default: next } = await import("next");
  const app = next({ dev: config.dev, dir: root, quiet: true });
  await app.prepare();
  log.info({ dev: config.dev }, "dashboard ready");
  return { handle: app.getRequestHandler(), upgrade: config.dev ? app.getUpgradeHandler() : undefined };
}

/** Starts the router; a platform without one still serves the API and dashboard (apps are just not reachable). */
async function startRouter(config: Config, log: Logger, outlives: boolean): Promise<HaproxyRouter | undefined> {
  const https = config.httpsPort
    ? { port: config.httpsPort, issuer: config.tlsIssuer, acmeEmail: config.acmeEmail, acmeCa: config.acmeCa }
    : undefined;
  const router = new HaproxyRouter({
    listenHost: config.host,
    listenPort: config.routerPort,
    dataDir: config.dataDir,
    log,
    keepRunning: outlives,
    threads: config.routerThreads,
    https,
  });
  try {
    await router.start();
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, "router unavailable; apps are not reachable");
    return undefined;
  }
  // Port 0 picked a free port: printed app URLs must use the real one.
  config.routerPort = router.port;
  return router;
}

/** Creates the control plane (database opened, admin bootstrapped) without listening yet. */
export async function createControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { config, log } = opts;
  const db = createDb(config.databaseUrl);
  await useWriteAheadLog(db);
  const hub = new StreamHub(log.child({ component: "stream-hub" }));
  // Without a registry (e.g. docker-registry not installed on a non-root dev machine) the control plane still
  // serves the dashboard and API; builds and image deploys then answer "registry is not running".
  const registry = opts.registry
    ? await startRegistry(
        path.join(config.dataDir, "registry"),
        config.registryPort,
        log.child({ component: "registry" }),
      ).catch((err: unknown) => {
        log.error(
          { err: err instanceof Error ? err.message : String(err) },
          "image registry unavailable; builds are disabled",
        );
        return undefined;
      })
    : undefined;
  const registryInfo = () => {
    if (!registry) throw errors.unavailable("the image registry is not running on this control plane");
    return registry.info;
  };
  const access = new AccessEvents(log.child({ component: "access-events" }));
  const health = new PlatformHealth(log.child({ component: "health" }));
  const base = {
    db,
    config,
    log,
    hub,
    access,
    registry: registryInfo,
    health,
    stats: new StatsHistory(),
    logs: new AppLogs(config),
    stacks: new StackRebuilds({ config, log }),
    schedulerKick: new SchedulerKick(),
    agentControl: new AgentControlSeam(),
  };
  // Built in dependency order into one object: the agent hub and the add-on images need only some of the parts
  // above, the scheduler (created stopped) everything but itself.
  const parts = Object.assign(base, { agents: new AgentHub(base), addonImages: new AddonImages(base) });
  const services: Services = Object.assign(parts, { scheduler: new Scheduler(parts) });
  await bootstrapAdmin(services);
  const builderDir = builderDirOf(config.dataDir);
  if (existsSync(builderDir)) {
    // Before any build can start: stores of apps deleted while the control plane was down (or crashed mid-destroy),
    // and what older versions kept in the shared stack store.
    const ids = new Set((await db.app.findMany({ select: { id: true } })).map((a) => a.id));
    await sweepBuilderStores(builderDir, ids, log.child({ component: "builder" }));
  }
  const git = new GitEndpoint(
    services,
    createBuildPipeline(services, {
      deployBranches: config.deployBranches,
      concurrency: config.build.concurrency,
      limits: { timeoutMs: config.build.timeoutMs, memory: config.build.memory },
      builderDir,
      registry: registryInfo,
      hub,
    }),
  );

  const api = createApi(services);
  const apiListener = getRequestListener(api.fetch) as Handler;
  const streams = new StreamServer(services, hub);
  const execs = new ExecSocketServer(
    services,
    new ExecBroker(services, services.agents, {
      idleTimeoutMs: config.execIdleTimeoutSeconds * 1000,
      maxSessionsPerUser: config.execMaxSessionsPerUser,
    }),
  );
  const dashboard = opts.dashboard ? await loadDashboard(config, log) : undefined;

  const hardening = securityHeaders(config);
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    const isApi = url === API_BASE || url.startsWith(`${API_BASE}/`) || url.startsWith(`${API_BASE}?`);
    const isGit = url.startsWith(GIT_PREFIX) || url === HOOK_PATH;
    const isHealth = url === "/healthz" || url.startsWith("/healthz?");
    const isPull = url.startsWith(PULL_PREFIX);
    applySecurityHeaders(res, hardening, Boolean(dashboard) && !(isApi || isGit || isHealth || isPull));
    if (isHealth) {
      serveHealthz(health, res, log);
      return;
    }
    if (isApi) {
      apiListener(req, res);
      return;
    }
    if (isPull) {
      handlePull(services, req, res).catch((err: unknown) => {
        log.error({ err, url }, "registry pull request failed");
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    if (isGit) {
      const handler = url === HOOK_PATH ? git.handleHook(req, res) : git.handle(req, res);
      handler.catch((err: unknown) => {
        log.error({ err, url }, "git request failed");
        if (res.headersSent) return;
        // git prints a text/plain body as `remote: ...`: say what is wrong when it is the disk.
        if (isDiskFull(err))
          res.writeHead(507, { "content-type": "text/plain; charset=utf-8" }).end(`${DISK_FULL_MESSAGE}\n`);
        else res.writeHead(500).end("internal error\n");
      });
      return;
    }
    if (dashboard) {
      dashboard.handle(req, res).catch((err: unknown) => {
        log.error({ err, url }, "dashboard request failed");
        if (!res.headersSent) res.writeHead(500).end("internal error");
      });
      return;
    }
    res
      .writeHead(404, { "content-type": "application/json" })
      .end('{"error":{"code":"not_found","message":"not found"}}');
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // git pushes and streams can be long; idle sockets still time out via keepAlive
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (req.url ?? "").split("?")[0];
    if (pathname === STREAM_PATH) {
      streams.handleUpgrade(req, socket, head);
    } else if (pathname === AGENT_PATH) {
      services.agents.handleUpgrade(req, socket, head);
    } else if (isExecPath(pathname ?? "")) {
      execs.handleUpgrade(req, socket, head);
    } else if (dashboard?.upgrade) {
      void dashboard.upgrade(req, socket, head);
    } else {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
  });

  const pruner = setInterval(
    () => {
      pruneLoginFailures(services).catch((err: unknown) => log.error({ err }, "pruning login failures failed"));
      pruneExpiredDomainClaims(services).catch((err: unknown) =>
        log.error({ err }, "pruning lapsed domain claims failed"),
      );
    },
    10 * 60 * 1000,
  );
  pruner.unref();
  const scheduler = services.scheduler;
  const statsIngest = startStatsIngest(services, services.agents);
  const stopLogIngest = startLogIngest(services, services.agents);
  const router = opts.router ? await startRouter(config, log, opts.routerOutlives ?? false) : undefined;
  if (router) scheduler.setRouter(router);
  health.register("database", databaseProbe(services));
  if (opts.registry)
    health.register("registry", registry ? registryProbe(registry.state, registry.info.host) : registryFailedProbe());
  if (opts.router) health.register("router", router ? routerProbe(() => router.health()) : routerFailedProbe());
  health.register("nodes", nodesProbe(services));
  health.register("disk", diskProbe(services));
  health.watch();
  const stopPlatformLines = forwardPlatformLines(services, router, scheduler);
  if (config.scheduler) scheduler.start();
  // Add-ons (server/addons): resume interrupted provisioning, keep DATABASE_URL pointing where the service runs.
  const stopAddonSync = config.scheduler ? startAddonSync(services) : () => undefined;
  const stopAddonBackups = config.scheduler ? startAddonBackupSchedule(services) : () => Promise.resolve();
  const stopBackups = startBackupSchedule(
    { dataDir: config.dataDir, ...config.backup },
    log.child({ component: "backup" }),
  );

  return {
    services,
    server,
    streams,
    git,
    statsIngest,
    registry: registryInfo,
    listen: () =>
      new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, config.host, () => {
          server.off("error", reject);
          const addr = server.address();
          // The bound port is what git hooks call back to (PORT=0 picks a random one).
          if (typeof addr === "object" && addr) config.port = addr.port;
          resolve(config.port);
        });
      }),
    close: async () => {
      clearInterval(pruner);
      health.stop();
      stopAddonSync();
      await stopAddonBackups();
      await stopBackups();
      scheduler.stop();
      stopPlatformLines();
      stopLogIngest();
      await router?.stop();
      streams.close();
      execs.close();
      services.agents.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a grace period, then the sockets are cut.
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await registry?.stop();
      await db.$disconnect();
    },
  };
}
