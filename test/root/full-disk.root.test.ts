// A full disk: the whole platform (server/main.ts) runs with its data dir on a small loop-mounted ext4 image, serves
// an app, and then the filesystem is filled up. While it is full: the app keeps answering through the router, a push
// is refused with a clear message, API writes either succeed or fail with a clear 503 (never a 500), and router
// lines that cannot be stored are counted. Once space is freed: pushes build and deploy again, every write that was
// acknowledged is still there, the database passes SQLite's integrity check, the log lines stored before are still
// readable and the app's log says how many lines were lost.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { hostportChainsExist, removeHostportChains } from "../../runtime-agent/test-support/iptables-cleanup.ts";
import {
  cleanupPlatformHost,
  drainAndStop,
  startPlatform,
  viaRouter,
  type PlatformProcess,
} from "../helpers/platform-process.ts";
import { checkDatabase } from "../../server/backup/database.ts";

const ADMIN = { email: "full@example.com", password: "full-disk-password-1" };
const dockerfile = `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCOPY www /www\nCMD ["httpd","-f","-p","5000","-h","/www"]\n`;

let tmp = "";
let image = "";
let mnt = "";
let mounted = false;
let chainsExisted = true;
let platform: PlatformProcess | undefined;
let dataDir = "";

/** Fills the filesystem at `dir` with one file until ENOSPC; returns its path. */
function fill(dir: string): string {
  const file = path.join(dir, "filler");
  const fd = fs.openSync(file, "w");
  const chunk = Buffer.alloc(1024 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  }
  // The last bytes that fit (fs blocks are 4 KiB).
  const small = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, small);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

describeRoot("full disk", () => {
  beforeAll(() => {
    if (!isRoot) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-fulldisk-"));
    image = path.join(tmp, `disk-${crypto.randomBytes(4).toString("hex")}.img`);
    mnt = path.join(tmp, "mnt");
    fs.mkdirSync(mnt);
    fs.writeFileSync(image, "");
    fs.truncateSync(image, 400 * 1024 * 1024);
    // -m 0: no blocks reserved for root (the platform runs as root and would otherwise see them as free).
    execFileSync("mkfs.ext4", ["-q", "-F", "-m", "0", image]);
    execFileSync("mount", ["-o", "loop", "--", image, mnt]);
    mounted = true;
    dataDir = path.join(mnt, "data");
  });
  afterAll(async () => {
    if (!tmp) return;
    fs.rmSync(path.join(mnt, "filler"), { force: true });
    if (platform) await drainAndStop(platform, dataDir, ["full"]);
    if (dataDir) await cleanupPlatformHost(dataDir);
    if (!chainsExisted) await removeHostportChains();
    if (mounted) {
      // The platform's last children (conmon, git, the registry) may hold files there for a moment after it exited.
      for (let i = 0; ; i++) {
        try {
          execFileSync("umount", ["--", mnt], { stdio: "pipe" });
          break;
        } catch (err) {
          // Still busy after a minute on a loaded machine: detach it lazily (it goes, with its loop device, as soon
          // as the last holder lets go) rather than leave it mounted for the next run.
          if (i >= 240) {
            execFileSync("umount", ["-l", "--", mnt], { stdio: "pipe" });
            break;
          }
          void err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("keeps serving, refuses writes clearly, loses nothing and recovers when space is freed", async () => {
    chainsExisted = await hostportChainsExist();
    platform = await startPlatform(dataDir, ADMIN, { BERTH_MIN_FREE_MB: "16" });
    const p = platform;
    const c = p.client;
    expect((await c.req("POST", "/api/v1/apps", { name: "full" })).status).toBe(201);
    const token = (await c.tokenClient()).token;
    const repo = await makeRepo({
      Dockerfile: dockerfile,
      busybox: fs.readFileSync("/bin/busybox"),
      "www/index.html": "v1\n",
    });
    try {
      const push1 = await git(repo, ["push", remoteUrl(p.url, "full", token), "main"]);
      expect(push1.code, push1.out + p.output().slice(-3000)).toBe(0);
      const v1Commit = (await git(repo, ["rev-parse", "HEAD"])).out.trim();
      for (let i = 0; i < 5; i++)
        expect(await viaRouter(p.routerPort, "full.localhost")).toEqual({ status: 200, body: "v1\n" });
      // Router lines of those requests reach the app's log.
      const logsBefore = async () =>
        (
          await c.req<{ entries: { seq: number; source: string; text: string }[] }>(
            "GET",
            "/api/v1/apps/full/logs?lines=1000",
          )
        ).body.entries;
      const deadline = Date.now() + 10_000;
      while ((await logsBefore()).filter((e) => e.source === "router").length < 5 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      const stored = await logsBefore();
      expect(stored.filter((e) => e.source === "router").length).toBeGreaterThanOrEqual(5);

      const filler = fill(mnt);
      expect(fs.statfsSync(mnt).bavail).toBeLessThan(64);

      // The app keeps answering (routing, containers and their rootfs need no new space), and its router lines, which
      // cannot be stored now, are counted.
      for (let i = 0; i < 300; i++) expect((await viaRouter(p.routerPort, "full.localhost")).status).toBe(200);

      // A push is refused before anything is written, with a sentence that says why.
      fs.writeFileSync(path.join(repo, "www", "index.html"), "v2\n");
      expect((await git(repo, ["commit", "-qam", "v2"])).code).toBe(0);
      const refused = await git(repo, ["push", remoteUrl(p.url, "full", token), "main"]);
      expect(refused.code).not.toBe(0);
      // Refused up front below BERTH_MIN_FREE_MB, or (if even the token check could not write) the same sentence.
      expect(refused.out).toMatch(
        /remote: (push refused: the platform's disk is almost full|the platform's disk is full)/,
      );
      expect(refused.out).not.toMatch(/internal error/);

      // API writes: acknowledged (SQLite still had room in its log) or refused with a clear 503, never a 500.
      const created: string[] = [];
      const statuses = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const r = await c.req<{ error?: { message: string } }>("POST", "/api/v1/apps", { name: `full-w-${i}` });
        statuses.add(r.status);
        if (r.status === 201) created.push(`full-w-${i}`);
        else {
          expect(r.status, JSON.stringify(r.body)).toBe(503);
          expect(r.body.error?.message).toMatch(/disk is full/);
        }
      }
      // Reads still work.
      expect((await c.req("GET", "/api/v1/apps")).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1000));
      expect(p.output()).toMatch(/router lines dropped: the data dir's disk is full/);

      fs.rmSync(filler);

      // Recovery: the same push now builds and deploys.
      const push2 = await git(repo, ["push", remoteUrl(p.url, "full", token), "main"]);
      expect(push2.code, push2.out + p.output().slice(-3000)).toBe(0);
      expect(push2.out).toContain("remote: -----> v2 is running");
      expect(await viaRouter(p.routerPort, "full.localhost")).toEqual({ status: 200, body: "v2\n" });
      const after = Date.now() + 10_000;
      let entries = await logsBefore();
      while (!entries.some((e) => /log lines? lost/.test(e.text)) && Date.now() < after) {
        await viaRouter(p.routerPort, "full.localhost");
        await new Promise((r) => setTimeout(r, 300));
        entries = await logsBefore();
      }
      const marker = entries.find((e) => /log lines? lost/.test(e.text));
      expect(marker?.text).toMatch(/^\[berth\] \d+ log lines? lost: they could not be stored/);
      expect(Number(/\] (\d+) /.exec(marker!.text)?.[1])).toBeGreaterThan(0);
      // Lines stored before the disk filled are still there.
      const seqs = new Set(entries.map((e) => e.seq));
      for (const e of stored) expect(seqs.has(e.seq) || e.seq < Math.min(...seqs)).toBe(true);

      // Nothing acknowledged was lost; the database is intact.
      const names = new Set((await c.req<{ name: string }[]>("GET", "/api/v1/apps")).body.map((a) => a.name));
      for (const n of ["full", ...created]) expect(names.has(n), n).toBe(true);
      expect((await c.req("POST", "/api/v1/apps", { name: "after-full" })).status).toBe(201);
      const releases = (await c.req<{ version: number }[]>("GET", "/api/v1/apps/full/releases")).body.map(
        (r) => r.version,
      );
      expect(releases.sort()).toEqual([1, 2]);
      await checkDatabase(path.join(dataDir, "berth.db"));
      const log = await git(tmp, ["--git-dir", path.join(dataDir, "git", "full.git"), "log", "--format=%H", "main"]);
      expect(log.out.split("\n")).toContain(v1Commit);
      expect((await git(tmp, ["--git-dir", path.join(dataDir, "git", "full.git"), "fsck"])).code).toBe(0);

      platform = undefined;
      expect(await drainAndStop(p, dataDir, ["full"])).toBe(0);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  }, 900_000);
});
