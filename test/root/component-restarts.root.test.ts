// Component crashes on the whole platform (server/main.ts as `npm start` runs it): the registry, the router (HAProxy)
// and the local agent are killed with SIGKILL in turn. /healthz names the component
// that is not ok (each is frozen with SIGSTOP first, since a bare kill -9 is repaired faster than a poll sees it), the
// supervisor brings it back within seconds, /healthz is ok again, the registry kept its blobs, the router serves the
// app's latest routes again, and a git push while the registry is down is refused with one clear sentence.
// Restart times are printed (measured, not asserted: see docs/reliability.md).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { ourHaproxyPids } from "../../server/router/haproxy-process.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { hostportChainsExist, removeHostportChains } from "../../runtime-agent/test-support/iptables-cleanup.ts";
import {
  cleanupPlatformHost,
  drainAndStop,
  startPlatform,
  viaRouter,
  type PlatformProcess,
} from "../helpers/platform-process.ts";

const ADMIN = { email: "crash@example.com", password: "crash-password-1" };
const APP = "crashy";
const dockerfile = `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCOPY www /www\nCMD ["httpd","-f","-p","5000","-h","/www"]\n`;

interface Health {
  status: string;
  components: { name: string; status: string; detail: string; since: string }[];
}
interface AdminComponent {
  name: string;
  status: string;
  restarts: number | null;
  lastExit: { signal: string | null } | null;
}

let tmp = "";
let dataDir = "";
let repo = "";
let chainsExisted = true;
let platform: PlatformProcess | undefined;

async function until<T>(what: string, fn: () => Promise<T | false | undefined>, ms = 60_000, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${platform?.output().slice(-3000) ?? ""}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

async function healthz(): Promise<{ code: number; body: Health }> {
  const r = await fetch(`${platform!.url}/healthz`);
  return { code: r.status, body: (await r.json()) as Health };
}
const statusOf = (h: Health, name: string) => h.components.find((c) => c.name === name)?.status;

async function adminComponent(name: string): Promise<AdminComponent> {
  const r = await platform!.client.req<{ components: AdminComponent[] }>("GET", "/api/v1/admin/status");
  expect(r.status).toBe(200);
  return r.body.components.find((c) => c.name === name)!;
}

function readProc(pid: string, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return "";
  }
}

/** Pids whose argv or environment contains `needle` (this platform's own processes: its data dir is unique). */
function pidsWith(needle: string, where: "cmdline" | "environ"): number[] {
  return fs
    .readdirSync("/proc")
    .filter((p) => /^[0-9]+$/.test(p) && readProc(p, where).split("\0").includes(needle))
    .map(Number);
}

const registryPids = () => pidsWith(path.join(dataDir, "registry", "config.yml"), "cmdline");
const routerPids = () => pidsWith(path.join(dataDir, "haproxy", "haproxy.cfg"), "cmdline");
// The agent's node process (not the runc/conmon children it started: those inherit no BERTH_STATE_DIR? they may).
const agentPids = () =>
  pidsWith(`BERTH_STATE_DIR=${path.join(dataDir, "agent")}`, "environ").filter((p) =>
    readProc(String(p), "cmdline").includes("runtime-agent/main.ts"),
  );

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Blob files of the registry's storage (what a restart must keep). */
function registryBlobs(): string[] {
  const root = path.join(dataDir, "registry", "data", "docker", "registry", "v2", "blobs");
  return fs.existsSync(root)
    ? (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith("data")).sort()
    : [];
}

/**
 * Freezes the component's processes until /healthz names it, then kills them with SIGKILL and measures how long until
 * /healthz says ok again. `whileDown` runs while it is frozen.
 */
async function crash(
  name: string,
  pids: () => number[],
  whileDown?: () => Promise<void>,
): Promise<{ processMs: number; healthzMs: number }> {
  const before = pids();
  expect(before.length, `${name} processes`).toBeGreaterThan(0);
  const restartsBefore = (await adminComponent(name)).restarts ?? 0;
  signal(before, "SIGSTOP");
  let killedAt = 0;
  try {
    const seen = await until(
      `${name} named as not ok`,
      async () => {
        const h = await healthz();
        return statusOf(h.body, name) !== "ok" && h;
      },
      30_000,
    );
    expect(["down", "restarting"]).toContain(statusOf(seen.body, name));
    // The control plane itself still serves: 200, the platform degraded, the component named.
    expect(seen.code).toBe(200);
    expect(seen.body.status).toBe("degraded");
    await whileDown?.();
  } finally {
    signal(before, "SIGKILL");
    killedAt = Date.now();
  }
  // A new process first (what the supervisor or watcher did), then /healthz (cached up to 1 s) saying ok.
  await until(`a new ${name} process`, async () => pids().some((p) => !before.includes(p)), 30_000, 20);
  const processMs = Date.now() - killedAt;
  await until(`${name} ok again`, async () => statusOf((await healthz()).body, name) === "ok", 60_000, 50);
  const healthzMs = Date.now() - killedAt;
  expect(pids().some((p) => before.includes(p))).toBe(false);
  const after = await adminComponent(name);
  expect(after.restarts ?? 0).toBeGreaterThan(restartsBefore);
  return { processMs, healthzMs };
}

describeRoot("component crashes on a running platform", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-crash-"));
    dataDir = path.join(tmp, "data");
    chainsExisted = await hostportChainsExist();
  });
  afterAll(async () => {
    if (platform) await drainAndStop(platform, dataDir, [APP]);
    // HAProxy is told not to outlive this platform; anything of it left (a test that failed half-way) goes too.
    if (dataDir) signal(ourHaproxyPids(path.join(dataDir, "haproxy", "haproxy.cfg")), "SIGKILL");
    if (dataDir) await cleanupPlatformHost(dataDir);
    if (!chainsExisted) await removeHostportChains();
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("names a killed registry, router and agent in /healthz and has each back within seconds", async () => {
    // The router stops with the platform (by default HAProxy would outlive it).
    platform = await startPlatform(dataDir, ADMIN, { BERTH_ROUTER_OUTLIVES: "off" });
    const p = platform;
    expect((await p.client.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    const token = (await p.client.tokenClient()).token;
    repo = await makeRepo({
      Dockerfile: dockerfile,
      busybox: fs.readFileSync("/bin/busybox"),
      "www/index.html": "crash v1\n",
    });
    const push = await git(repo, ["push", remoteUrl(p.url, APP, token), "main"]);
    expect(push.code, push.out + p.output().slice(-3000)).toBe(0);
    expect(await viaRouter(p.routerPort, `${APP}.localhost`)).toEqual({ status: 200, body: "crash v1\n" });
    const ok = await until("all components ok", async () => {
      const h = await healthz();
      return h.body.status === "ok" && h;
    });
    expect(ok.body.components.map((c) => c.name)).toEqual([
      "database",
      "registry",
      "router",
      "local-agent",
      "nodes",
      "disk",
    ]);
    const timings: Record<string, { processMs?: number; healthzMs: number }> = {};

    // Registry: a push while it is down is refused with one sentence; its blobs survive the restart.
    const blobs = registryBlobs();
    expect(blobs.length).toBeGreaterThan(0);
    fs.writeFileSync(path.join(repo, "www", "index.html"), "crash v2\n");
    expect((await git(repo, ["commit", "-qam", "v2"])).code).toBe(0);
    timings.registry = await crash("registry", registryPids, async () => {
      const refused = await git(repo, ["push", remoteUrl(p.url, APP, token), "main"]);
      expect(refused.code).not.toBe(0);
      expect(refused.out).toContain("remote: the image registry is not running; try again shortly");
      expect(refused.out).not.toMatch(/at .*\.ts:[0-9]+/);
    });
    expect(registryBlobs()).toEqual(expect.arrayContaining(blobs));
    // The same push goes through once it is back (the v1 layers are still there to build on and push to).
    const push2 = await git(repo, ["push", remoteUrl(p.url, APP, token), "main"]);
    expect(push2.code, push2.out + p.output().slice(-3000)).toBe(0);
    expect(push2.out).toContain("remote: -----> v2 is running");

    // Router: back with the current routes (v2), not an empty table.
    timings.router = await crash("router", routerPids);
    await until(
      "the app served through the restarted router",
      async () => {
        const r = await viaRouter(p.routerPort, `${APP}.localhost`);
        return r.status === 200 && r.body === "crash v2\n";
      },
      20_000,
    );

    // Local agent: the app keeps serving meanwhile (conmon owns its container), the agent reconnects.
    const agents = agentPids();
    expect(agents.length).toBe(1);
    const restartsBefore = (await adminComponent("local-agent")).restarts ?? 0;
    const killedAt = Date.now();
    signal(agents, "SIGKILL");
    expect((await viaRouter(p.routerPort, `${APP}.localhost`)).status).toBe(200);
    await until(
      "agent restarted",
      async () => ((await adminComponent("local-agent")).restarts ?? 0) > restartsBefore,
      20_000,
      50,
    );
    await until(
      "local agent ok again",
      async () => statusOf((await healthz()).body, "local-agent") === "ok",
      60_000,
      50,
    );
    timings["local-agent"] = { healthzMs: Date.now() - killedAt };
    expect((await adminComponent("local-agent")).lastExit?.signal).toBe("SIGKILL");
    expect(await viaRouter(p.routerPort, `${APP}.localhost`)).toEqual({ status: 200, body: "crash v2\n" });

    expect((await healthz()).body.status).toBe("ok");
    // Measured, for docs/reliability.md (not asserted: timings depend on the machine).
    console.log(`component back to ok after SIGKILL (ms): ${JSON.stringify(timings)}`);
  }, 600_000);
});
