// The whole platform on this machine for benchmarks (root): control plane with registry and router, a real agent
// process (runc, conmon, CNI) in an isolated root environment, and a busybox httpd app pushed with git. The same setup
// as bench/zero-downtime.ts, shared by bench/rollout.ts and bench/density.ts. `close()` removes everything it made.
// The app exits on SIGTERM like a well-behaved app (busybox httpd as PID 1 ignores it, so every stop would wait the
// 10 s grace period for SIGKILL: what is measured is then the app, not the platform).
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../server/config.ts";
import { createLogger } from "../../server/logger.ts";
import { migrateDatabase } from "../../server/db/migrate.ts";
import { createControlPlane, type ControlPlane } from "../../server/control-plane.ts";
import { createLocalJoinToken } from "../../server/nodes/join-tokens.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { ApiClient } from "../../test/helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../../test/helpers/git.ts";
import { cleanupBuilder } from "../../test/helpers/builder-cleanup.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
COPY www /www
CMD ["/bin/sh","-c","trap 'kill $pid; exit 0' TERM; httpd -f -p 5000 -h /www & pid=$!; wait $pid"]
`;

export interface Platform {
  cp: ControlPlane;
  api: ApiClient;
  url: string;
  routerPort: number;
  app: string;
  /** The agent process (its pid for CPU and memory readings). */
  agent: ChildProcess;
  /** Reads the agent's containers (for the cleanup check). */
  inspector: OciBackend;
  close(): Promise<string[]>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 100 ms until it returns something truthy. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  ms = 300_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Starts the platform and deploys `app` (a busybox httpd on PORT 5000) with `git push`; v1 runs web=1. */
export async function startPlatform(app: string, opts: { hostPorts?: number } = {}): Promise<Platform> {
  if (process.getuid?.() !== 0) throw new Error("run as root (runc, buildah, CNI)");
  const cleanups: (() => Promise<unknown>)[] = [];
  const problems: string[] = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => problems.push(String(e)));
    return problems;
  };
  try {
    const env: RootEnv = await createRootEnv();
    cleanups.push(async () => problems.push(...(await env.destroy())));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `berth-bench-${app}-`));
    cleanups.push(async () => {
      await cleanupBuilder(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const config = loadConfig({
      BERTH_DATA_DIR: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      BERTH_LOG_LEVEL: "error",
      BERTH_ROUTER_PORT: "0",
    });
    await migrateDatabase(config.databaseUrl);
    const cp = await createControlPlane({
      config,
      log: createLogger("error"),
      dashboard: false,
      registry: true,
      router: true,
    });
    cleanups.push(() => cp.close());
    const port = await cp.listen();
    const url = `http://127.0.0.1:${port}`;
    const admin = new ApiClient(url);
    await admin.signUp(`${app}@example.com`);
    const api = await admin.tokenClient("bench");
    const join = (await createLocalJoinToken(cp.services.db, { name: `${app}-node` })).token;
    const reg = cp.registry();
    const authFile = path.join(env.tmp, "registry-auth.json");
    const auth = Buffer.from(`${reg.username}:${reg.password}`).toString("base64");
    fs.writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: { auth } } }), { mode: 0o600 });
    const c = env.backend.config;
    const ports = opts.hostPorts ?? 100;
    const portBase = 31_000 + Math.floor(Math.random() * 100) * 200;
    const flags = [
      `--control-plane=${url}`,
      `--join-token=${join}`,
      `--state-dir=${path.join(env.tmp, "agent")}`,
      `--runc-root=${c.runcRoot}`,
      `--storage-root=${c.storage.root}`,
      `--storage-run-root=${c.storage.runRoot}`,
      `--cni-network=${c.cni.networkName}`,
      `--cni-bridge=${c.cni.bridge}`,
      `--subnet=${c.cni.subnet}`,
      `--cgroup-parent=${c.cgroupParent}`,
      `--name-prefix=${c.namePrefix}`,
      `--node-name=${app}-node`,
      // Published on the bridge gateway, as single-machine mode does (server/nodes/local-agent.ts): 127.0.0.1 would
      // need route_localnet, which the node's network policy keeps off.
      `--node-address=${env.gateway}`,
      `--host-ip=${env.gateway}`,
      `--host-ports=${portBase}-${portBase + ports - 1}`,
      "--ip-masq=false",
      "--tick-ms=250",
      `--insecure-registries=${reg.host}`,
      `--registry-auth-file=${authFile}`,
    ];
    const inspector = await OciBackend.open(
      backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })),
      silentLogger(),
    );
    const agent = spawn(process.execPath, ["--import", "tsx", "runtime-agent/main.ts", ...flags], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BERTH_LOG_LEVEL: "warn", NODE_ENV: "test" },
    });
    agent.stderr?.on("data", () => undefined);
    cleanups.push(async () => {
      // The app first (its containers stop through the agent), then the agent, then anything left.
      await api.req("DELETE", `/api/v1/apps/${app}`).catch(() => undefined);
      // A state file being rewritten can fail one read: try again at the next poll.
      const none = () =>
        inspector.list().then(
          (l) => l.length === 0,
          () => false,
        );
      await until("containers gone", none, 120_000).catch((e: unknown) => problems.push(String(e)));
      if (agent.exitCode === null) {
        const exited = new Promise((r) => agent.once("exit", r));
        agent.kill("SIGTERM");
        await exited;
      }
      for (const x of await inspector.list())
        await inspector.delete(x.id).catch((e: unknown) => problems.push(String(e)));
    });
    const db = cp.services.db;
    await until(
      "node ready",
      async () => (await db.node.findUnique({ where: { name: `${app}-node` } }))?.state === "ready",
    );
    if ((await api.req("POST", "/api/v1/apps", { name: app })).status !== 201) throw new Error("app create failed");
    const repo = await makeRepo({
      Dockerfile: DOCKERFILE,
      busybox: fs.readFileSync("/bin/busybox"),
      "www/index.html": "<h1>bench</h1>\n",
    });
    cleanups.push(async () => fs.rmSync(repo, { recursive: true, force: true }));
    const push = await git(repo, ["push", remoteUrl(url, app, api.token), "main"]);
    if (push.code !== 0) throw new Error(`git push failed:\n${push.out}`);
    return { cp, api, url, routerPort: cp.services.config.routerPort, app, agent, inspector, close };
  } catch (err) {
    const p = await close();
    if (p.length) process.stderr.write(`cleanup problems:\n${p.join("\n")}\n`);
    throw err;
  }
}

/** The app's instances as the API lists them. */
export async function instances(p: Platform) {
  return (
    await p.api.req<{ id: string; state: string; release: number; processType: string }[]>(
      "GET",
      `/api/v1/apps/${p.app}/instances`,
    )
  ).body;
}

/** Waits until exactly `n` web instances of `version` run and nothing else is left. */
export function runningWeb(p: Platform, n: number, version: number, ms?: number) {
  return until(
    `${n} running web instances of v${version}`,
    async () => {
      const all = await instances(p);
      const web = all.filter((i) => i.processType === "web");
      return web.length === n && all.length === n && web.every((i) => i.state === "running" && i.release === version);
    },
    ms,
  );
}

/** The machine's load average, as printed with every result. */
export const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Resident memory (KiB) of a process, from /proc. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}
