// A restored platform serves its apps: the whole platform (server/main.ts, as `npm start` runs it) builds and serves
// an app pushed with git, `berth-admin backup` archives it while it runs, and a second platform started on a data dir
// restored from that archive (new ports, its own agent, nothing copied but the archive) serves the app at the same
// release through its router, and builds the next push on top of the restored git history.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { localAgentEnv } from "../../server/nodes/local-agent.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { hostportChainsExist, removeHostportChains } from "../../runtime-agent/test-support/iptables-cleanup.ts";
import {
  cleanupPlatformHost,
  drainAndStop,
  startPlatform,
  viaRouter,
  type PlatformProcess,
} from "../helpers/platform-process.ts";

const execFileAsync = promisify(execFile);
const ADMIN = { email: "restore@example.com", password: "restore-password-1" };
const dockerfile = `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCOPY www /www\nCMD ["httpd","-f","-p","5000","-h","/www"]\n`;

let tmp = "";
let chainsExisted = true;
const dataDirs: string[] = [];
const running: { p: PlatformProcess; dataDir: string }[] = [];

const runcLeft = (dataDir: string) => {
  const root = localAgentEnv(dataDir, "http://x", "x").BERTH_RUNC_ROOT!;
  return fs.existsSync(root) ? fs.readdirSync(root) : [];
};

async function until(what: string, fn: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describeRoot("backup and restore of a running platform", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-restore-"));
    chainsExisted = await hostportChainsExist();
  });
  afterAll(async () => {
    for (const r of running) await drainAndStop(r.p, r.dataDir, ["keep"]);
    for (const d of dataDirs) await cleanupPlatformHost(d);
    if (!chainsExisted) await removeHostportChains();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("restores into a new data dir and the restored platform serves the app at its release", async () => {
    const first = path.join(tmp, "first");
    const second = path.join(tmp, "second");
    dataDirs.push(first, second);
    const a = await startPlatform(first, ADMIN);
    running.push({ p: a, dataDir: first });
    expect((await a.client.req("POST", "/api/v1/apps", { name: "keep" })).status).toBe(201);
    const token = (await a.client.tokenClient()).token;
    const repo = await makeRepo({
      Dockerfile: dockerfile,
      busybox: fs.readFileSync("/bin/busybox"),
      "www/index.html": "kept v1\n",
    });
    try {
      const push = await git(repo, ["push", remoteUrl(a.url, "keep", token), "main"]);
      expect(push.code, push.out + a.output().slice(-3000)).toBe(0);
      expect(push.out).toContain("remote: -----> v1 is running");
      expect(await viaRouter(a.routerPort, "keep.localhost")).toEqual({ status: 200, body: "kept v1\n" });

      const archive = path.join(tmp, "backup.tar.gz");
      const backup = await execFileAsync(process.execPath, ["bin/berth-admin.mjs", "backup", "--out", archive], {
        env: { ...process.env, BERTH_DATA_DIR: first },
      });
      expect(backup.stdout).toContain("keep: v1\n");

      // The first platform goes away completely (its app destroyed, so no container of it outlives it).
      running.shift();
      expect(await drainAndStop(a, first, ["keep"])).toBe(0);
      expect(runcLeft(first)).toEqual([]);

      const restore = await execFileAsync(process.execPath, [
        "bin/berth-admin.mjs",
        "restore",
        archive,
        "--data-dir",
        second,
      ]);
      expect(restore.stdout).toContain(`restored into ${second}`);
      const b = await startPlatform(second, ADMIN);
      running.push({ p: b, dataDir: second });
      // The scheduler starts the serving release again from the restored registry; the router routes it.
      await until(
        "the restored app to serve",
        async () => (await viaRouter(b.routerPort, "keep.localhost")).status === 200,
      );
      expect(await viaRouter(b.routerPort, "keep.localhost")).toEqual({ status: 200, body: "kept v1\n" });
      const releases = await b.client.req<{ version: number; status: string }[]>("GET", "/api/v1/apps/keep/releases");
      expect(releases.body.map((r) => [r.version, r.status])).toEqual([[1, "deployed"]]);

      // The restored git history and token take the next push (a fast-forward of the old commit).
      fs.writeFileSync(path.join(repo, "www", "index.html"), "kept v2\n");
      expect((await git(repo, ["commit", "-qam", "v2"])).code).toBe(0);
      const push2 = await git(repo, ["push", remoteUrl(b.url, "keep", token), "main"]);
      expect(push2.code, push2.out + b.output().slice(-3000)).toBe(0);
      expect(push2.out).toContain("remote: -----> v2 is running");
      expect(await viaRouter(b.routerPort, "keep.localhost")).toEqual({ status: 200, body: "kept v2\n" });

      running.shift();
      expect(await drainAndStop(b, second, ["keep"])).toBe(0);
      expect(runcLeft(second)).toEqual([]);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  }, 600_000);
});
