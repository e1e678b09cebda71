// Starts a real control plane (API, streams, real database file) on a random port for one test file.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inject } from "vitest";
import { loadConfig, type Config } from "../../server/config.ts";
import { createLogger } from "../../server/logger.ts";
import { createControlPlane, type ControlPlane } from "../../server/control-plane.ts";
import { cleanupBuilder } from "./builder-cleanup.ts";

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  cp: ControlPlane;
  close(): Promise<void>;
}

/**
 * Starts a control plane with its own data dir; `env` overrides configuration (e.g. login limits). `opts.dataDir`
 * runs it on an existing data dir instead (a restored backup); it is removed on close like a fresh one.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  opts: { registry?: boolean; router?: boolean; dashboard?: boolean; dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "berth-test-"));
  if (!opts.dataDir) fs.copyFileSync(inject("templateDb"), path.join(dataDir, "berth.db"));
  const config: Config = loadConfig({
    BERTH_DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    BERTH_LOG_LEVEL: process.env.BERTH_TEST_LOG_LEVEL ?? "silent",
    BERTH_ROUTER_PORT: "0",
    // Domain verification must never ask the machine's resolver (test traffic stays on loopback): a closed loopback
    // port answers "connection refused" at once. Tests that verify domains pass their own DNS server.
    BERTH_DNS_RESOLVER: "127.0.0.1:1",
    ...env,
  });
  const cp = await createControlPlane({
    config,
    log: createLogger(config.logLevel),
    dashboard: opts.dashboard ?? false,
    registry: opts.registry ?? false,
    router: opts.router ?? false,
  });
  const port = await cp.listen();
  return {
    url: `http://${config.host}:${port}`,
    port,
    dataDir,
    cp,
    close: async () => {
      await cp.close();
      if (opts.registry) await cleanupBuilder(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
