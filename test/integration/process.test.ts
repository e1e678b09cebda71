// The real entry point as a process: migrates a fresh data dir, creates the admin from env, logs JSON,
// serves /healthz, and exits 0 on SIGTERM, leaving no process of its own behind (the router is told not to outlive
// it here; by default HAProxy keeps serving apps across a restart).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import { ApiClient } from "../helpers/client.ts";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-proc-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** Command lines of running processes that name `dir` (the router, the registry: anything started for it). */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe("server/main.ts process", () => {
  it("starts on a fresh data dir, bootstraps the admin, and shuts down cleanly on SIGTERM", async () => {
    const port = await freeLoopbackPort();
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        BERTH_DATA_DIR: dataDir,
        BERTH_NO_DASHBOARD: "1",
        BERTH_NO_AGENT: "1",
        // A random router port and no outliving HAProxy: a run must not hold 8080 or leave a process behind.
        BERTH_ROUTER_PORT: "0",
        BERTH_ROUTER_OUTLIVES: "off",
        BERTH_ADMIN_EMAIL: "Root@Example.com",
        BERTH_ADMIN_PASSWORD: "admin-password-123",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));

    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 45_000;
    let healthy = false;
    while (!healthy && Date.now() < deadline) {
      healthy = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!healthy) await new Promise((r) => setTimeout(r, 200));
    }
    expect(healthy, out).toBe(true);
    expect(fs.existsSync(path.join(dataDir, "berth.db"))).toBe(true);

    const c = new ApiClient(url);
    const login = await c.login("root@example.com", "admin-password-123");
    expect(login.status).toBe(200);
    expect(login.body.user.isAdmin).toBe(true);
    expect(out).not.toContain("admin-password-123");

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const lines = out.trim().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(out).toContain("shutting down");
    expect(processesUsing(dataDir)).toEqual([]);
  });
});
