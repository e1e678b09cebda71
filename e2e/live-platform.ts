// A whole platform for one e2e spec (the shared e2e web server runs without an agent): `server/main.ts` with the
// dashboard from the built .next, registry, HAProxy router and a supervised local node agent (root only), on its own
// data dir and ports; `stop()` removes what it created (processes, containers, the bridge, portmap chains, /run
// dirs, cgroups), as e2e/golden-live.spec.ts does.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freeLoopbackPort } from "../server/lib/free-port.ts";
import { localAgentEnv } from "../server/nodes/local-agent.ts";
import { cleanupBuilder } from "../test/helpers/builder-cleanup.ts";
import { hostportChainsExist, removeHostportChains } from "../runtime-agent/test-support/iptables-cleanup.ts";
import { removeNetworkPolicy } from "../runtime-agent/runtime/network-policy-applier.ts";

const root = path.resolve(import.meta.dirname, "..");

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 250 ms until it returns something truthy. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

export interface LivePlatform {
  url: string;
  /** Its data dir (tests find its child processes by it). */
  dataDir: string;
  routerPort: number;
  output: () => string;
  /** Deletes `app` with `token` (its containers go with it), stops the platform and removes what it created. */
  stop: (app?: { name: string; token: string }) => Promise<void>;
}

/** Starts the platform with everything on; the first user to sign up becomes its admin. */
export async function startLivePlatform(prefix: string): Promise<LivePlatform> {
  if (!fs.existsSync(path.join(root, ".next", "BUILD_ID"))) {
    throw new Error("the dashboard is not built: run `npm test -- e2e` (or `npm start` once) to build .next");
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const chainsExisted = await hostportChainsExist();
  const port = await freeLoopbackPort();
  const routerPort = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    BERTH_DATA_DIR: dataDir,
    BERTH_PUBLIC_URL: url,
    BERTH_ROUTER_PORT: String(routerPort),
    BERTH_LOG_LEVEL: "warn",
    // HAProxy stops with the platform: a test leaves no router behind.
    BERTH_ROUTER_OUTLIVES: "off",
    NODE_ENV: "production",
  };
  for (const k of ["BERTH_NO_AGENT", "BERTH_NO_DASHBOARD", "BERTH_NO_REGISTRY", "BERTH_NO_ROUTER"]) delete env[k];
  for (const k of ["BERTH_ADMIN_EMAIL", "BERTH_ADMIN_PASSWORD", "BERTH_REGISTRY_PORT", "BERTH_SCHEDULER"])
    delete env[k];
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));

  const stop = async (app?: { name: string; token: string }) => {
    const agentEnv = localAgentEnv(dataDir, "http://x", "x");
    if (app && child.exitCode === null) {
      await fetch(`${url}/api/v1/apps/${app.name}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${app.token}` },
      }).catch(() => undefined);
      const runcRoot = agentEnv.BERTH_RUNC_ROOT!;
      await until(
        "the app's containers to go",
        async () => !fs.existsSync(runcRoot) || fs.readdirSync(runcRoot).length === 0,
        60_000,
      ).catch((err: unknown) => console.warn(String(err)));
    }
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      const code = await Promise.race([exited, sleep(60_000).then(() => "timeout" as const)]);
      if (code === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
    }
    await cleanupBuilder(dataDir);
    try {
      execFileSync("ip", ["link", "delete", agentEnv.BERTH_CNI_BRIDGE!], { stdio: "ignore" });
    } catch {
      // never created, or already gone
    }
    if (!chainsExisted) await removeHostportChains();
    await removeNetworkPolicy(agentEnv.BERTH_CNI_BRIDGE!);
    fs.rmSync(path.dirname(agentEnv.BERTH_RUNC_ROOT!), { recursive: true, force: true });
    for (const ctl of fs.existsSync("/sys/fs/cgroup") ? fs.readdirSync("/sys/fs/cgroup") : []) {
      const dir = path.join("/sys/fs/cgroup", ctl, agentEnv.BERTH_CGROUP_PARENT!);
      if (fs.existsSync(dir)) fs.rmdirSync(dir);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await until(
      "/healthz",
      async () => {
        if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode})`);
        return (await fetch(`${url}/healthz`)).ok;
      },
      120_000,
    );
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n${out.slice(-3000)}`);
  }
  return { url, dataDir, routerPort, output: () => out, stop };
}
