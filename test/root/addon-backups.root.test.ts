// Add-on backups with real everything (root tier): real PostgreSQL and Redis add-ons (the platform images, a real
// agent, runc, user namespaces) on a real control plane, driven through the real CLI. PostgreSQL: a row written
// through `addons:psql`, captured, the table dropped, restored: the row is back. Redis: a key the same way. The
// files sit in the data dir (0600, per team and add-on), downloads stream the same bytes; another team gets 404 on
// every backup route, a viewer may list but not capture, download or restore; ids are allowlisted (no traversal);
// the scheduled pass captures every add-on and keeps BERTH_ADDON_BACKUP_KEEP of them.
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { useStackCache } from "../helpers/stack-cache.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { runBerth } from "../helpers/cli.ts";
import { runScheduledBackups } from "../../server/addons/backups/schedule.ts";

const APP = "bk-app";
const KEEP = 2;

let env: RootEnv;
let srv: TestServer;
let owner: ApiClient;
let token = "";
let agent: ChildProcess | undefined;
let inspector: OciBackend;
let pg = "";
let redis = "";
let home = "";
let restoreCache: () => void = () => undefined;

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const berth = (args: string[], stdin?: string, t = token) =>
  runBerth(args, { url: srv.url, token: t, home, cwd: home, ...(stdin !== undefined ? { stdin } : {}) });

async function createAddon(kind: string): Promise<string> {
  const r = await owner.req<{ name: string }>("POST", `/api/v1/apps/${APP}/addons`, { kind });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const name = r.body.name;
  await until(
    `${kind} available`,
    async () => {
      const i = (
        await owner.req<{ state: string; failReason: string | null }>("GET", `/api/v1/apps/${APP}/addons/${name}`)
      ).body;
      if (i.state === "failed") throw new Error(`${kind} failed: ${i.failReason}`);
      return i.state === "available";
    },
    600_000,
  );
  return name;
}

/** Captures through the CLI; returns the new backup's id. */
async function capture(addon: string): Promise<string> {
  const r = await berth(["addons:backups:capture", addon, "-a", APP]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const id = /(bk-[0-9a-f]{16}) of .* is complete/.exec(r.stdout)?.[1];
  expect(id, r.stdout).toBeTruthy();
  return id!;
}

async function psql(sql: string): Promise<string> {
  const r = await berth(["addons:psql", pg, "-a", APP], sql);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

async function redisCli(cmd: string): Promise<string> {
  const r = await berth(["addons:redis-cli", redis, "-a", APP], `${cmd}\n`);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describeRoot("add-on backups (real PostgreSQL and Redis, agent, runc, CLI)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    restoreCache = useStackCache();
    env = await createRootEnv();
    srv = await startTestServer(
      { BERTH_ROUTER_PORT: "0", BERTH_ADDON_BACKUP_INTERVAL: "0", BERTH_ADDON_BACKUP_KEEP: String(KEEP) },
      { registry: true, router: true },
    );
    owner = new ApiClient(srv.url);
    await owner.signUp("bk-owner@example.com");
    token = (await owner.tokenClient("bk")).token;
    home = fs.mkdtempSync("/tmp/berth-bk-cli-");
    const join = await localJoinToken(srv, "bk-node");
    const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    const flags = agentFlagsFor(env, { controlPlane: srv.url, joinToken: join, nodeName: "bk-node", portBase });
    inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    agent = spawnAgent(flags);
    await until(
      "node ready",
      async () => (await srv.cp.services.db.node.findUnique({ where: { name: "bk-node" } }))?.state === "ready",
    );
    expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    // Both at once: their images load from the stack cache.
    [pg, redis] = await Promise.all([createAddon("postgres"), createAddon("redis")]);
  }, 900_000);

  afterAll(async () => {
    const problems: string[] = [];
    if (srv && agent) {
      for (const name of [pg, redis].filter(Boolean)) {
        const r = await owner
          .req("DELETE", `/api/v1/apps/${APP}/addons/${name}`)
          .catch((e: unknown) => ({ status: String(e) }));
        if (r.status !== 204) problems.push(`destroy ${name}: ${String(r.status)}`);
      }
      await until("containers gone", async () => (await inspector.list()).length === 0, 60_000).catch((e: unknown) =>
        problems.push(String(e)),
      );
      await owner.req("DELETE", `/api/v1/apps/${APP}`).catch(() => undefined);
      // Destroying the add-ons removed their backups from the data dir.
      const root = path.join(srv.cp.services.config.dataDir, "addon-backups");
      for (const team of fs.existsSync(root) ? fs.readdirSync(root) : [])
        if (fs.readdirSync(path.join(root, team)).length > 0) problems.push(`backups left in ${team}`);
    }
    await stopAgent(agent);
    for (const c of (await inspector?.list()) ?? [])
      await inspector.delete(c.id).catch((e: unknown) => problems.push(String(e)));
    for (const id of (await inspector?.volumeStore.ids()) ?? [])
      await inspector.volumeStore.destroy(id).catch((e: unknown) => problems.push(String(e)));
    await srv?.close();
    problems.push(...((await env?.destroy()) ?? []));
    if (home) fs.rmSync(home, { recursive: true, force: true });
    restoreCache();
    expect(problems).toEqual([]);
  }, 240_000);

  let pgBackup = "";
  let redisBackup = "";

  it("PostgreSQL: a row written through psql, captured, the table dropped, restored: the row is back", async () => {
    await psql("create table t(v text); insert into t values ('kept');\n");
    pgBackup = await capture(pg);
    const listed = await berth(["addons:backups", pg, "-a", APP]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${pgBackup}\\s.*completed`));
    // The file: in the data dir, per team and add-on, readable only by the control plane's user.
    const team = (await owner.req<{ team: string }>("GET", `/api/v1/apps/${APP}`)).body.team;
    const teamId = (await srv.cp.services.db.team.findFirstOrThrow({ where: { name: team } })).id;
    const file = path.join(srv.cp.services.config.dataDir, "addon-backups", teamId, pg, `${pgBackup}.pgdump`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(file).subarray(0, 5).toString()).toBe("PGDMP");
    // The dump never carries the credentials in the clear... and the log of the capture neither (only names).
    const password = (
      await srv.cp.services.db.configVar.findFirstOrThrow({ where: { key: "BERTH_PG_PASSWORD", app: { name: pg } } })
    ).value;
    expect(fs.readFileSync(file).includes(password)).toBe(false);

    await psql("drop table t;\n");
    expect(await berth(["addons:psql", pg, "-a", APP], "select v from t;\n").then((r) => r.stdout + r.stderr)).toMatch(
      /does not exist/,
    );
    const refused = await berth(["addons:backups:restore", pgBackup, "-a", APP]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("--confirm");
    const r = await berth(["addons:backups:restore", pgBackup, "-a", APP, "--confirm", APP]);
    expect(r.code, r.stderr).toBe(0);
    expect(await psql("select v from t;\n")).toMatch(/^\s*kept\s*$/m);
    // The restore replaces: a row added after the backup is gone after restoring it again.
    await psql("insert into t values ('later');\n");
    expect((await berth(["addons:backups:restore", pgBackup, "-a", APP, "--confirm", APP])).code).toBe(0);
    const after = await psql("select v from t;\n");
    expect(after).toContain("kept");
    expect(after).not.toContain("later");
  }, 600_000);

  it("Redis: a key set, captured, deleted, restored: the key is back (the server restarts on the backup)", async () => {
    expect(await redisCli("SET k kept")).toContain("OK");
    redisBackup = await capture(redis);
    expect(await redisCli("DEL k")).toMatch(/1/);
    expect((await redisCli("GET k")).trim()).toBe("");
    const r = await berth(["addons:backups:restore", redisBackup, "-a", APP, "--confirm", APP]);
    expect(r.code, r.stderr).toBe(0);
    expect(
      await until(
        "the key is back",
        async () => (await redisCli("GET k").catch(() => "")).includes("kept") || null,
        60_000,
      ),
    ).toBe(true);
    // Writes after the restore persist (AOF is on again).
    expect(await redisCli("CONFIG GET appendonly")).toContain("yes");
  }, 600_000);

  it("downloads stream the captured bytes into a new 0600 file", async () => {
    const out = path.join(home, "pg.dump");
    const r = await berth(["addons:backups:download", pgBackup, "-a", APP, "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(out).subarray(0, 5).toString()).toBe("PGDMP");
    const info = (await owner.req<{ sizeBytes: number }>("GET", `/api/v1/apps/${APP}/addon-backups/${pgBackup}`)).body;
    expect(fs.statSync(out).size).toBe(info.sizeBytes);
    // An existing file is never overwritten.
    const again = await berth(["addons:backups:download", pgBackup, "-a", APP, "-o", out]);
    expect(again.code).not.toBe(0);
    const rdb = await berth(["addons:backups:download", redisBackup, "-a", APP]);
    expect(rdb.code, rdb.stderr).toBe(0);
    expect(
      fs
        .readFileSync(path.join(home, `${redis}-${redisBackup}.rdb`))
        .subarray(0, 5)
        .toString(),
    ).toBe("REDIS");
    const audit = await srv.cp.services.db.auditEvent.findMany({ where: { action: { startsWith: "addon.backup." } } });
    const actions = new Set(audit.map((a) => a.action));
    expect([...actions].sort()).toEqual(["addon.backup.capture", "addon.backup.download", "addon.backup.restore"]);
  }, 120_000);

  it("another team gets 404 on every backup route; a viewer may list but not capture, download or restore", async () => {
    const team = (await owner.req<{ team: string }>("GET", `/api/v1/apps/${APP}`)).body.team;
    const viewer = new ApiClient(srv.url);
    await viewer.signUp("bk-viewer@example.com");
    expect(
      (await owner.req("POST", `/api/v1/teams/${team}/members`, { email: "bk-viewer@example.com", role: "viewer" }))
        .status,
    ).toBe(201);
    const outsider = new ApiClient(srv.url);
    await outsider.signUp("bk-outsider@example.com");
    // The outsider's own app: naming our backup under it is a 404 too.
    expect((await outsider.req("POST", "/api/v1/apps", { name: "bk-outsider" })).status).toBe(201);
    const before = await srv.cp.services.db.addonBackup.count();
    const routes = (app: string) =>
      [
        ["GET", `/api/v1/apps/${app}/addons/${pg}/backups`, undefined],
        ["POST", `/api/v1/apps/${app}/addons/${pg}/backups`, undefined],
        ["GET", `/api/v1/apps/${app}/addon-backups/${pgBackup}`, undefined],
        ["GET", `/api/v1/apps/${app}/addon-backups/${pgBackup}/download`, undefined],
        ["POST", `/api/v1/apps/${app}/addon-backups/${pgBackup}/restore`, { confirm: app }],
      ] as const;
    for (const [method, p, body] of [...routes(APP), ...routes("bk-outsider")])
      expect((await outsider.req(method, p, body)).status, `${method} ${p}`).toBe(404);
    const [list, cap, info, dl, rest] = routes(APP);
    expect((await viewer.req(list[0], list[1])).status).toBe(200);
    expect((await viewer.req(info[0], info[1])).status).toBe(200);
    for (const [method, p, body] of [cap, dl, rest])
      expect((await viewer.req(method, p, body)).status, `${method} ${p}`).toBe(403);
    const viewerToken = (await viewer.tokenClient("v")).token;
    const denied = await berth(
      ["addons:backups:restore", pgBackup, "-a", APP, "--confirm", APP],
      undefined,
      viewerToken,
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("does not allow");
    expect(await srv.cp.services.db.addonBackup.count()).toBe(before);
  }, 120_000);

  it("backup ids are allowlisted: traversal and odd ids are 404 and read nothing", async () => {
    for (const id of [
      "..%2F..%2F..%2Fetc%2Fpasswd",
      "bk-..%2F..%2Fx",
      "bk-0123456789ABCDEF",
      `${pgBackup}.pgdump`,
      "%2Fetc%2Fpasswd",
      `${pgBackup}%00`,
    ]) {
      for (const suffix of ["", "/download"]) {
        const r = await owner.req("GET", `/api/v1/apps/${APP}/addon-backups/${id}${suffix}`);
        expect([404, 422], `${id}${suffix}`).toContain(r.status);
      }
      const r = await owner.req("POST", `/api/v1/apps/${APP}/addon-backups/${id}/restore`, { confirm: APP });
      expect([404, 422], id).toContain(r.status);
    }
    const cli = await berth(["addons:backups:download", "../../etc/passwd", "-a", APP]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain("invalid backup id");
  });

  it("the scheduled pass captures every add-on and keeps the newest BERTH_ADDON_BACKUP_KEEP of them", async () => {
    for (let i = 0; i < KEEP + 1; i++) {
      const r = await runScheduledBackups(srv.cp.services);
      expect(r).toEqual({ captured: 2, failed: 0 });
    }
    for (const addon of [pg, redis]) {
      const list = (
        await owner.req<{ id: string; origin: string; state: string }[]>(
          "GET",
          `/api/v1/apps/${APP}/addons/${addon}/backups`,
        )
      ).body;
      const scheduled = list.filter((b) => b.origin === "scheduled");
      expect(scheduled).toHaveLength(KEEP);
      expect(scheduled.every((b) => b.state === "completed")).toBe(true);
    }
    // On disk: exactly the files of the listed backups.
    const root = path.join(srv.cp.services.config.dataDir, "addon-backups");
    const files = fs
      .readdirSync(root)
      .flatMap((team) =>
        fs.readdirSync(path.join(root, team)).flatMap((addon) => fs.readdirSync(path.join(root, team, addon))),
      );
    const rows = await srv.cp.services.db.addonBackup.findMany({ where: { state: "completed" } });
    expect(files.map((f) => f.replace(/\.(pgdump|rdb)$/, "")).sort()).toEqual(rows.map((b) => b.id).sort());
    expect(rows).toHaveLength(2 * KEEP + 2);
  }, 600_000);
});
