// The add-on backup schedule against a real server and database (no agent: the add-on's service cannot be reached):
// a scheduled pass that cannot capture logs the failure, leaves the platform and the add-on as they were, and the
// next pass tries again; a capture left `capturing` by a stopped control plane is marked failed at the next start.
import fs from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runScheduledBackups, startAddonBackupSchedule } from "../../server/addons/backups/schedule.ts";
import { backupFile, ensureBackupDir } from "../../server/addons/backups/store.ts";

let srv: TestServer;
let owner: ApiClient;
let addon = "";

beforeAll(async () => {
  srv = await startTestServer({ BERTH_ADDON_BACKUP_INTERVAL: "0" });
  owner = new ApiClient(srv.url);
  await owner.signUp("bk-sched@example.com");
  expect((await owner.req("POST", "/api/v1/apps", { name: "bk-sched" })).status).toBe(201);
  const r = await owner.req<{ name: string }>("POST", "/api/v1/apps/bk-sched/addons", { kind: "postgres" });
  expect(r.status).toBe(202);
  addon = r.body.name;
  // No registry here: provisioning fails in the background. Once it has, the add-on is made to look available.
  const db = srv.cp.services.db;
  for (
    let i = 0;
    i < 200 && (await db.addon.findUniqueOrThrow({ where: { name: addon } })).state === "provisioning";
    i++
  )
    await new Promise((res) => setTimeout(res, 50));
  await db.addon.update({ where: { name: addon }, data: { state: "available", failReason: "" } });
});

afterAll(async () => {
  await srv?.close();
});

it("a failed scheduled pass is logged, changes nothing and is tried again at the next pass", async () => {
  const s = srv.cp.services;
  const errors: string[] = [];
  const log = s.log;
  // Capture what the schedule logs (the logger is the control plane's own).
  const spy = {
    ...log,
    child: () => ({ ...log, error: (_o: unknown, msg: string) => errors.push(msg), info: () => undefined }),
  };
  const first = await runScheduledBackups({ ...s, log: spy as unknown as typeof log });
  expect(first).toEqual({ captured: 0, failed: 1 });
  expect(errors).toEqual(["scheduled add-on backup failed; trying again at the next check"]);
  expect(await s.db.addonBackup.count()).toBe(0);
  expect((await owner.req<{ state: string }>("GET", `/api/v1/apps/bk-sched/addons/${addon}`)).body.state).toBe(
    "available",
  );
  // The next pass tries again (nothing marks the add-on as skipped).
  expect(await runScheduledBackups(s)).toEqual({ captured: 0, failed: 1 });
  // The platform still answers.
  expect((await owner.req("GET", "/api/v1/apps/bk-sched/addons")).status).toBe(200);
});

it("a capture interrupted by a control-plane stop is marked failed at the next start", async () => {
  const s = srv.cp.services;
  const a = await s.db.addon.findUniqueOrThrow({ where: { name: addon } });
  await s.db.addonBackup.create({ data: { id: "bk-00000000000000aa", addonId: a.id, origin: "scheduled" } });
  const team = (await s.db.app.findUniqueOrThrow({ where: { id: a.appId } })).teamId;
  await ensureBackupDir(s.config.dataDir, team, a.name);
  const partial = `${backupFile(s.config.dataDir, team, a.name, "postgres", "bk-00000000000000aa")}.partial`;
  fs.writeFileSync(partial, "PGD");
  const stop = startAddonBackupSchedule(s);
  await stop();
  expect(fs.existsSync(partial)).toBe(false);
  const b = await s.db.addonBackup.findUniqueOrThrow({ where: { id: "bk-00000000000000aa" } });
  expect(b).toMatchObject({ state: "failed", error: "interrupted by a control-plane restart" });
  const list = await owner.req<{ id: string; state: string }[]>("GET", `/api/v1/apps/bk-sched/addons/${addon}/backups`);
  expect(list.body).toEqual([expect.objectContaining({ id: "bk-00000000000000aa", state: "failed" })]);
});
