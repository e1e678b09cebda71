// The whole platform as `npm start` runs it (server/main.ts: control plane, registry, router, local agent) in a child
// process on its own data dir and ports, and the cleanup of what its agent leaves on the host (root tier).
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import { localAgentEnv } from "../../server/nodes/local-agent.ts";
import { ApiClient } from "./client.ts";
import { cleanupBuilder } from "./builder-cleanup.ts";
import { removeNetworkPolicy } from "../../runtime-agent/runtime/network-policy-applier.ts";

export interface PlatformProcess {
  url: string;
  routerPort: number;
  /** Signed in as the admin (`email`, `password` of startPlatform). */
  client: ApiClient;
  /** Everything the process printed so far. */
  output(): string;
  /** The main process's pid. */
  pid: number;
  /** SIGTERM; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash: nothing of the graceful shutdown runs); resolves once it exited. */
  kill(): Promise<void>;
}

/** GET / through a router port with a Host header; status 0 when the connection failed. */
export function viaRouter(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: "/", headers: { host }, agent: false, timeout: 5000 },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/**
 * Starts server/main.ts on `dataDir`; resolves once the admin can sign in and the local node is ready. `env` may set
 * PORT and BERTH_ROUTER_PORT (a restart on the same ports); free ones are picked otherwise. With BERTH_NO_AGENT=1
 * (nodes join from elsewhere) it resolves once the admin can sign in.
 */
export async function startPlatform(
  dataDir: string,
  admin: { email: string; password: string },
  env: Record<string, string> = {},
): Promise<PlatformProcess> {
  const port = env.PORT ? Number(env.PORT) : await freeLoopbackPort();
  const routerPort = env.BERTH_ROUTER_PORT ? Number(env.BERTH_ROUTER_PORT) : await freeLoopbackPort();
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      BERTH_DATA_DIR: dataDir,
      BERTH_NO_DASHBOARD: "1",
      BERTH_ROUTER_PORT: String(routerPort),
      BERTH_ADMIN_EMAIL: admin.email,
      BERTH_ADMIN_PASSWORD: admin.password,
      // HAProxy stops with the platform unless a test asks otherwise (and then stops it itself).
      BERTH_ROUTER_OUTLIVES: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const stop = async () => {
    child.kill("SIGTERM");
    return exited;
  };
  const kill = async () => {
    child.kill("SIGKILL");
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const client = new ApiClient(url);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (!client.csrf) await client.login(admin.email, admin.password).catch(() => undefined);
    if (client.csrf) {
      const nodes = (await client.req<{ state: string }[]>("GET", "/api/v1/nodes")).body;
      if (env.BERTH_NO_AGENT === "1" || (Array.isArray(nodes) && nodes.some((n) => n.state === "ready"))) {
        return { url, routerPort, client, output: () => out, pid: child.pid as number, stop, kill };
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await stop();
  throw new Error(`platform on ${dataDir} did not become ready:\n${out.slice(-3000)}`);
}

/**
 * Destroys `apps` on a running platform and waits until its agent has removed every container (containers outlive
 * the platform by design, so a test stops it only after this), then stops it; resolves to its exit code.
 */
export async function drainAndStop(p: PlatformProcess, dataDir: string, apps: string[]): Promise<number | null> {
  for (const app of apps) await p.client.req("DELETE", `/api/v1/apps/${app}`).catch(() => undefined);
  const runc = localAgentEnv(dataDir, "http://x", "x").BERTH_RUNC_ROOT!;
  const deadline = Date.now() + 90_000;
  while (fs.existsSync(runc) && fs.readdirSync(runc).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
  }
  return p.stop();
}

/** Removes what a stopped platform's local agent leaves on the host for `dataDir` (bridge, policy, /run, cgroups). */
export async function cleanupPlatformHost(dataDir: string): Promise<void> {
  await cleanupBuilder(dataDir);
  const env = localAgentEnv(dataDir, "http://x", "x");
  const bridge = env.BERTH_CNI_BRIDGE!;
  try {
    execFileSync("ip", ["link", "delete", bridge], { stdio: "ignore" });
  } catch {
    // never created, or already gone
  }
  await removeNetworkPolicy(bridge);
  fs.rmSync(path.dirname(env.BERTH_RUNC_ROOT!), { recursive: true, force: true });
  for (const ctl of fs.existsSync("/sys/fs/cgroup") ? fs.readdirSync("/sys/fs/cgroup") : []) {
    const dir = path.join("/sys/fs/cgroup", ctl, env.BERTH_CGROUP_PARENT!);
    if (fs.existsSync(dir)) fs.rmdirSync(dir);
  }
}
