// Entry point of the control plane: parse config once, migrate, serve, shut down gracefully on SIGTERM/SIGINT.
import fs from "node:fs";
import { loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { createControlPlane } from "./control-plane.ts";
import { controlPlaneUrl } from "./apps/urls.ts";
import { stopAllSupervisors } from "./lib/supervisor.ts";
import { startLocalAgent } from "./nodes/local-agent.ts";

// A signal during start-up (before graceful shutdown is wired) must not orphan child processes like the registry.
function stopDuringStartup(): void {
  void stopAllSupervisors().finally(() => process.exit(1));
}
process.once("SIGTERM", stopDuringStartup);
process.once("SIGINT", stopDuringStartup);

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  await migrateDatabase(config.databaseUrl);
  log.info({ dataDir: config.dataDir }, "database migrated");
  const cp = await createControlPlane({
    config,
    log,
    dashboard: process.env.BERTH_NO_DASHBOARD !== "1",
    registry: process.env.BERTH_NO_REGISTRY !== "1",
    router: process.env.BERTH_NO_ROUTER !== "1",
    routerOutlives: config.routerOutlives,
  });
  const port = await cp.listen();
  log.info({ port, url: controlPlaneUrl({ ...config, port }) }, "control plane listening");
  const agent = process.env.BERTH_NO_AGENT === "1" ? null : await startLocalAgent(cp.services);

  process.off("SIGTERM", stopDuringStartup);
  process.off("SIGINT", stopDuringStartup);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    // The agent stops first; its containers keep running (conmon owns them) and are re-adopted at next start.
    Promise.resolve(agent?.stop())
      .then(() => cp.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad config), so write one plain JSON line.
  process.stderr.write(`${JSON.stringify({ level: 60, msg: err instanceof Error ? err.message : String(err) })}\n`);
  process.exit(1);
});
