// End-to-end tests: the real control plane (production build of the dashboard) on a loopback port with a fresh
// data directory, driven by Debian's chromium (never a downloaded browser; see TOOLCHAIN.md).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

const port = Number(process.env.BERTH_E2E_PORT || 3917);
const baseURL = `http://127.0.0.1:${port}`;
// Domain verification asks only this loopback DNS server (e2e/domains.spec.ts starts it while it runs), never the
// machine's resolver. Derived from the port (e2e/domains.spec.ts computes the same), so everyone agrees on it.
const e2eDnsPort = Number(process.env.BERTH_E2E_DNS_PORT || port + 1);
// Deterministic per port, so the config (loaded again by each worker) agrees on it; wiped before every run.
const dataDir = path.join(os.tmpdir(), `berth-e2e-${port}`);
if (!process.env.TEST_WORKER_INDEX) fs.rmSync(dataDir, { recursive: true, force: true });

export default defineConfig({
  testDir: "e2e",
  outputDir: "e2e-results/artifacts",
  timeout: 120_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  reporter: [["list"]],
  globalTeardown: "./e2e/global-teardown.ts",
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
  webServer: {
    command: "node --import tsx server/main.ts",
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    // SIGTERM, not the default SIGKILL: the platform stops its HAProxy (own session, see server/router/haproxy-process.ts).
    gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
    // The platform logs warnings and errors (BERTH_LOG_LEVEL=warn) to stdout: shown, so a failing run says why.
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      BERTH_DATA_DIR: dataDir,
      BERTH_PUBLIC_URL: baseURL,
      BERTH_LOG_LEVEL: "warn",
      BERTH_DNS_RESOLVER: `127.0.0.1:${e2eDnsPort}`,
      NODE_ENV: "production",
      // HAProxy stops with the platform: the run leaves no router behind.
      BERTH_ROUTER_OUTLIVES: "off",
      // The dashboard e2e needs no node agent (it would create host networking as root).
      BERTH_NO_AGENT: "1",
    },
  },
});
