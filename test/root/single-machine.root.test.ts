// Single-machine mode: server/main.ts (what `npm start` runs) starts a supervised local node agent with a join
// token it creates itself; the node registers as ready; SIGTERM stops agent and control plane.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import { ApiClient } from "../helpers/client.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { localAgentEnv } from "../../server/nodes/local-agent.ts";

let dataDir = "";

function agentCount(): number {
  try {
    return execFileSync("pgrep", ["-f", "runtime-agent/main.ts"], { encoding: "utf8" }).trim().split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}


describeRoot("single-machine mode", () => {
  beforeAll(() => {
    if (isRoot) dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-single-"));
  });
  afterAll(() => {
    if (!dataDir) return;
    // What the agent may have created for this data dir: runtime dirs on /run and its cgroup parents.
    const env = localAgentEnv(dataDir, "http://x", "x");
    fs.rmSync(path.dirname(env.BERTH_RUNC_ROOT!), { recursive: true, force: true });
    for (const ctl of fs.existsSync("/sys/fs/cgroup") ? fs.readdirSync("/sys/fs/cgroup") : []) {
      const dir = path.join("/sys/fs/cgroup", ctl, env.BERTH_CGROUP_PARENT!);
      if (fs.existsSync(dir)) fs.rmdirSync(dir);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs a local agent that registers as a ready node, and stops it on SIGTERM", async () => {
    const before = agentCount();
    const port = await freeLoopbackPort();
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        BERTH_DATA_DIR: dataDir,
        BERTH_NO_DASHBOARD: "1",
        BERTH_NO_REGISTRY: "1",
        BERTH_ADMIN_EMAIL: "single@example.com",
        BERTH_ADMIN_PASSWORD: "single-password-1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      const c = new ApiClient(url);
      const deadline = Date.now() + 90_000;
      let nodes: any[] = [];
      while (Date.now() < deadline) {
        if (!c.csrf) await c.login("single@example.com", "single-password-1").catch(() => undefined);
        if (c.csrf) {
          nodes = (await c.req<any[]>("GET", "/api/v1/nodes")).body;
          if (nodes.some((n) => n.state === "ready")) break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(nodes, out.slice(-3000)).toHaveLength(1);
      expect(nodes[0]).toMatchObject({ state: "ready", team: null });
      expect(nodes[0].cpus).toBeGreaterThan(0);
      expect(agentCount()).toBe(before + 1);
      const tokens = await c.req<any[]>("GET", "/api/v1/nodes/join-tokens");
      expect(tokens.body.filter((t) => t.name === "local agent" && !t.revokedAt)).toHaveLength(1);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(agentCount()).toBe(before);
  });
});
