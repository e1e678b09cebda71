// `berth-admin backup` / `restore` against a running control plane with its real database file, real git
// repositories and the real registry: the backup is taken while the server and git keep writing, restored into a new
// data dir, and a control plane started there has every row and commit acknowledged before the backup started, the
// serving release's image, and not the image a prune deleted.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { git } from "../helpers/git.ts";
import { basic, pushTestImage, registryStatus } from "../helpers/registry-image.ts";
import { ensureRepo, repoPath } from "../../server/git/repos.ts";

const execFileAsync = promisify(execFile);
const ADMIN = path.resolve("bin", "berth-admin.mjs");
const APP = "bk-app";

let srv: TestServer;
let restored: TestServer | undefined;
let owner: ApiClient;
let tmp: string;
let work: string;
let bare: string;
const hookless = ["-c", "core.hooksPath=/dev/null", "receive-pack"].join(" ");

/** Runs berth-admin with the server's data dir; resolves to exit code and output. */
async function admin(args: string[], dataDir: string): Promise<{ code: number; out: string }> {
  try {
    const r = await execFileAsync(process.execPath, [ADMIN, ...args], {
      env: { ...process.env, BERTH_DATA_DIR: dataDir, INIT_CWD: tmp },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** Commits one file and pushes it to the app's bare repo (pre-receive off: builds are the root tier's business). */
async function commitAndPush(n: number): Promise<string> {
  fs.writeFileSync(path.join(work, "file.txt"), `change ${n}\n`);
  expect((await git(work, ["add", "file.txt"])).code).toBe(0);
  expect((await git(work, ["commit", "-q", "-m", `commit ${n}`])).code).toBe(0);
  const push = await git(work, ["push", "-q", `--receive-pack=git ${hookless}`, bare, "HEAD:main"]);
  expect(push.out).toBe("");
  return (await git(work, ["rev-parse", "HEAD"])).out.trim();
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-backup-test-"));
  srv = await startTestServer({ BERTH_SCHEDULER: "off" }, { registry: true });
  owner = new ApiClient(srv.url);
  expect((await owner.signUp("backup-owner@example.com")).status).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
  bare = await ensureRepo(srv.dataDir, APP);
  work = path.join(tmp, "work");
  fs.mkdirSync(work);
  expect((await git(work, ["init", "-q", "--initial-branch=main"])).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await restored?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("platform backup and restore", () => {
  it("backs up while the platform writes, restores into a new data dir, and the restored platform has it all", async () => {
    const token = (await owner.tokenClient("backup")).token;
    const reg = srv.cp.registry();
    // v1 is pruned (its manifest deleted, as pruning does), v2 serves.
    const v1 = await pushTestImage(reg, APP, "v1");
    const v2 = await pushTestImage(reg, APP, "v2");
    const del = await fetch(`http://${reg.host}/v2/${APP}/manifests/${v1.manifest}`, {
      method: "DELETE",
      headers: { authorization: basic(reg.username, reg.password) },
    });
    expect(del.status).toBe(202);
    const db = srv.cp.services.db;
    const app = await db.app.findUniqueOrThrow({ where: { name: APP } });
    await db.release.create({
      data: { appId: app.id, version: 2, imageRef: APP, imageDigest: v2.manifest, status: "deployed" },
    });
    const committed = await commitAndPush(0);

    // Writers that keep going for the whole backup: apps created through the API, commits pushed with git.
    let stop = false;
    const acked: string[] = [];
    const apiWriter = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await owner.req("POST", "/api/v1/apps", { name: `bk-w-${i}` });
        expect(r.status).toBe(201);
        acked.push(`bk-w-${i}`);
      }
    })();
    let pushes = 0;
    const gitWriter = (async () => {
      for (let i = 1; !stop; i++) {
        await commitAndPush(i);
        pushes++;
      }
    })();
    while (acked.length < 5 || pushes < 1) await new Promise((r) => setTimeout(r, 20));
    const before = [...acked];
    const archive = path.join(tmp, "platform.tar.gz");
    const backup = await admin(["backup", "--out", "platform.tar.gz"], srv.dataDir);
    const during = acked.length - before.length;
    stop = true;
    await Promise.all([apiWriter, gitWriter]);
    expect(backup.out).toContain(`backup written: ${archive}`);
    expect(backup.code).toBe(0);
    expect(backup.out).toMatch(new RegExp(`${APP}: v2\\n`));
    // The writers really wrote while the backup ran.
    expect(during).toBeGreaterThan(0);

    const inspect = await admin(["backup:inspect", archive], srv.dataDir);
    expect(inspect.code).toBe(0);
    expect(inspect.out).toContain("1 git repository");

    const target = path.join(tmp, "restored");
    const restore = await admin(["restore", archive, "--data-dir", target], srv.dataDir);
    expect(restore.out).toContain(`restored into ${target}`);
    expect(restore.code).toBe(0);
    // Never over live state.
    const again = await admin(["restore", archive, "--data-dir", target], srv.dataDir);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/refusing to restore into .* not empty/);
    // Not in the archive: caches and logs.
    expect(fs.existsSync(path.join(target, "logs"))).toBe(false);
    expect(fs.existsSync(path.join(target, "builder"))).toBe(false);

    restored = await startTestServer({ BERTH_SCHEDULER: "off" }, { registry: true, dataDir: target });
    const api = new ApiClient(restored.url);
    api.token = token;
    const apps = await api.req<{ name: string }[]>("GET", "/api/v1/apps");
    expect(apps.status).toBe(200);
    const names = new Set(apps.body.map((a) => a.name));
    for (const n of [APP, ...before]) expect(names.has(n), n).toBe(true);
    const releases = await restored.cp.services.db.release.findMany({ where: { app: { name: APP } } });
    expect(releases.map((r) => [r.version, r.imageDigest, r.status])).toEqual([[2, v2.manifest, "deployed"]]);

    // Git: the commit pushed before the backup is there and the repository is whole.
    const repo = repoPath(target, APP);
    const log = await git(tmp, ["--git-dir", repo, "log", "--format=%H", "main"]);
    expect(log.code).toBe(0);
    expect(log.out.split("\n")).toContain(committed);
    expect((await git(tmp, ["--git-dir", repo, "fsck", "--strict"])).code).toBe(0);

    // Registry: the serving image is whole; the pruned one was not copied.
    const reg2 = restored.cp.registry();
    expect(await registryStatus(reg2, `/v2/${APP}/manifests/${v2.manifest}`)).toBe(200);
    expect(await registryStatus(reg2, `/v2/${APP}/blobs/${v2.layer}`)).toBe(200);
    expect(await registryStatus(reg2, `/v2/${APP}/manifests/v2`)).toBe(200);
    expect(await registryStatus(reg2, `/v2/${APP}/manifests/${v1.manifest}`)).toBe(404);
    const v1Hex = v1.layer.slice("sha256:".length);
    const blobFile = path.join(
      target,
      "registry",
      "data",
      "docker",
      "registry",
      "v2",
      "blobs",
      "sha256",
      v1Hex.slice(0, 2),
      v1Hex,
      "data",
    );
    expect(fs.existsSync(blobFile)).toBe(false);
  }, 120_000);

  it("refuses an archive that is not a backup, and changes nothing", async () => {
    const junk = path.join(tmp, "junk.tar.gz");
    fs.writeFileSync(junk, "not an archive");
    const target = path.join(tmp, "never");
    const r = await admin(["restore", junk, "--data-dir", target], srv.dataDir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/is not a Berth backup/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it("writes scheduled backups and keeps only the newest BERTH_BACKUP_KEEP", async () => {
    const dir = path.join(tmp, "scheduled");
    // 0.02 minutes: a run every 1.2 s.
    const s = await startTestServer({
      BERTH_SCHEDULER: "off",
      BERTH_BACKUP_INTERVAL: "0.02",
      BERTH_BACKUP_DIR: dir,
      BERTH_BACKUP_KEEP: "2",
    });
    try {
      const seen = new Set<string>();
      const deadline = Date.now() + 45_000;
      while (seen.size < 4 && Date.now() < deadline) {
        for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) if (f.endsWith(".tar.gz")) seen.add(f);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(seen.size).toBeGreaterThanOrEqual(4);
    } finally {
      await s.close();
    }
    const left = fs.readdirSync(dir);
    // Only finished archives, named by time, the two newest of those seen; no staging leftovers.
    expect(
      left.every((f) => /^berth-backup-\d{8}T\d{9}Z\.tar\.gz$/.test(f)),
      left.join(","),
    ).toBe(true);
    expect(left.length).toBe(2);
    const inspect = await admin(["backup:inspect", path.join(dir, left.sort()[1]!)], srv.dataDir);
    expect(inspect.code).toBe(0);
    expect(inspect.out).toContain("0 app(s)");
  }, 90_000);
});
