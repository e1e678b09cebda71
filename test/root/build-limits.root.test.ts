// Build limits with the real tools (root tier): a Dockerfile step that sleeps past BERTH_BUILD_TIMEOUT is stopped,
// one that allocates more than BERTH_BUILD_MEMORY is killed; either push is rejected with a clear message, nothing
// of the build keeps running or stays in the builder storage, and the current release is unchanged. Also: a build
// that needs a stack while it is rebuilt waits for the rebuild and uses the new image.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { cleanupBuilder } from "../helpers/builder-cleanup.ts";
import { localContainers } from "../helpers/builder-stores.ts";
import { ensureStack, listStacks, rebuildStack } from "../../server/builds/stacks/index.ts";

const run = promisify(execFile);
const BUSYBOX = "/bin/busybox";
/** The smallest time limit the config accepts. */
const TIMEOUT_S = 10;
/** The build memory limit for this server (small, so one step can exceed it quickly). */
const MEMORY = "64m";
/** A sleep no other test uses, so its process can be recognized. */
const SLEEP_ARG = "3179";
const dockerfile = (extra = "") =>
  `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n${extra}CMD ["httpd","-f","-p","5000"]\n`;

let srv: TestServer;
let owner: ApiClient;
let token = "";
const dirs: string[] = [];

/** Pids of processes running `sleep SLEEP_ARG` (the build step's, wherever it ended up). */
function sleepers(): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv.includes(SLEEP_ARG) && argv.some((a) => a === "sleep" || a.endsWith("/sleep"))) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Working containers in every builder store of the server (the app's own, the stack store). */
async function buildahContainers(): Promise<string[]> {
  return localContainers(srv.dataDir);
}

describeRoot("build limits, and builds during a stack rebuild", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    srv = await startTestServer(
      { BERTH_BUILD_TIMEOUT: String(TIMEOUT_S), BERTH_BUILD_MEMORY: MEMORY },
      { registry: true },
    );
    owner = new ApiClient(srv.url);
    await owner.signUp("limits@example.com");
    token = (await owner.tokenClient()).token;
  });
  afterAll(async () => {
    for (const pid of sleepers()) process.kill(pid, "SIGKILL");
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await srv?.close();
  });

  it("kills a Dockerfile build that runs past the limit, rejects the push and leaves nothing running", async () => {
    expect((await owner.req("POST", "/api/v1/apps", { name: "slow-build" })).status).toBe(201);
    const d = await makeRepo({ Dockerfile: dockerfile(), busybox: fs.readFileSync(BUSYBOX) });
    dirs.push(d);
    const url = remoteUrl(srv.url, "slow-build", token);
    const first = await git(d, ["push", url, "main"]);
    expect(first.code, first.out).toBe(0);
    const before = (await git(d, ["rev-parse", "HEAD"])).out.trim();
    expect(sleepers()).toEqual([]);

    fs.writeFileSync(
      path.join(d, "Dockerfile"),
      dockerfile(`RUN ["/bin/sh","-c","echo sleeping past the limit; exec sleep ${SLEEP_ARG}"]\n`),
    );
    await git(d, ["commit", "-qam", "sleep forever"]);
    const started = Date.now();
    const push = await git(d, ["push", url, "main"]);
    const took = (Date.now() - started) / 1000;

    expect(push.code).not.toBe(0);
    expect(push.out).toContain("sleeping past the limit");
    expect(push.out).toContain(`error: build failed: the build exceeded its time limit of ${TIMEOUT_S} s`);
    expect(push.out).toContain("the push was rejected; the running release is unchanged");
    expect(push.out).toContain("pre-receive hook declined");
    // Killed at the limit, not at the end of the sleep (generous margin for a loaded machine).
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_S - 1);
    expect(took).toBeLessThan(TIMEOUT_S + 60);

    // Nothing of the build is left: no sleeping step, no buildah working container.
    expect(sleepers()).toEqual([]);
    expect(await buildahContainers()).toEqual([]);

    // The release, the branch and the build history say what happened.
    const releases = await owner.req<any[]>("GET", "/api/v1/apps/slow-build/releases");
    expect(releases.body.map((r) => r.version)).toEqual([1]);
    const remote = await git(d, ["ls-remote", url, "refs/heads/main"]);
    expect(remote.out.split("\t")[0]).toBe(before);
    const builds = await owner.req<any[]>("GET", "/api/v1/apps/slow-build/builds");
    expect(builds.body[0]).toMatchObject({
      status: "failed",
      error: `the build exceeded its time limit of ${TIMEOUT_S} s`,
    });
    expect(builds.body[0].finishedAt).toBeTruthy();

    // The next push builds normally (no stale lock or container in the way).
    fs.writeFileSync(path.join(d, "Dockerfile"), dockerfile('RUN ["/bin/sh","-c","echo fixed"]\n'));
    await git(d, ["commit", "-qam", "fixed"]);
    const next = await git(d, ["push", url, "main"]);
    expect(next.code, next.out).toBe(0);
    expect(next.out).toMatch(/Released v2/);
  }, 180_000);

  it("kills a build step that uses more memory than the limit and rejects the push", async () => {
    expect((await owner.req("POST", "/api/v1/apps", { name: "big-build" })).status).toBe(201);
    const d = await makeRepo({ Dockerfile: dockerfile(), busybox: fs.readFileSync(BUSYBOX) });
    dirs.push(d);
    const url = remoteUrl(srv.url, "big-build", token);
    const first = await git(d, ["push", url, "main"]);
    expect(first.code, first.out).toBe(0);
    const before = (await git(d, ["rev-parse", "HEAD"])).out.trim();

    // ~400 MB in a shell variable, far over 64m (and its swap allowance).
    fs.writeFileSync(
      path.join(d, "Dockerfile"),
      dockerfile("RUN x=$(head -c 400000000 /dev/zero | tr '\\000' a); echo survived ${#x}\n"),
    );
    await git(d, ["commit", "-qam", "eat memory"]);
    const push = await git(d, ["push", url, "main"]);
    expect(push.code).not.toBe(0);
    expect(push.out).not.toMatch(/survived \d/);
    expect(push.out).toContain(
      `error: build failed: a build step was killed, most likely for using more than the build memory limit (${MEMORY})`,
    );
    expect(push.out).toContain("the push was rejected; the running release is unchanged");
    expect(await buildahContainers()).toEqual([]);
    const releases = await owner.req<any[]>("GET", "/api/v1/apps/big-build/releases");
    expect(releases.body.map((r) => r.version)).toEqual([1]);
    expect((await git(d, ["ls-remote", url, "refs/heads/main"])).out.split("\t")[0]).toBe(before);
  }, 180_000);

  it("lets a build that needs a stack wait for a rebuild of it and then use the new image", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-rebuild-"));
    const storage = { root: path.join(dataDir, "builder", "storage"), runRoot: path.join(dataDir, "builder", "run") };
    const cacheDir = path.join(dataDir, "cache");
    try {
      const first = await rebuildStack(storage, "static", { cacheDir });
      const [before] = await listStacks(storage, { cacheDir }).then((l) => l.filter((x) => x.name === "static"));
      expect(before).toMatchObject({ built: true, cached: true, image: first.image });
      const lines: string[] = [];
      // Image ids include the creation time (seconds): let the rebuild's differ from the first build's.
      await new Promise((r) => setTimeout(r, 1100));
      let started: () => void = () => undefined;
      const building = new Promise<void>((r) => (started = r));
      const rebuilding = rebuildStack(storage, "static", { cacheDir, onLine: started });
      await building; // the rebuild holds the stack's lock now
      const waiting = ensureStack(storage, "static", { cacheDir, onLine: (l) => lines.push(l) });
      const [rebuilt, used] = await Promise.all([rebuilding, waiting]);
      expect(lines).toContain("waiting for the static stack (another build is preparing it)");
      expect(used.image).toBe(rebuilt.image);
      const [after] = await listStacks(storage, { cacheDir }).then((l) => l.filter((x) => x.name === "static"));
      expect(after?.id).toBeTruthy();
      expect(after?.id).not.toBe(before?.id);
      // The replaced image is gone from the storage (nothing used it).
      const g = ["--root", storage.root, "--runroot", storage.runRoot, "--storage-driver", "overlay"];
      const { stdout } = await run("buildah", [...g, "images", "--quiet", "--no-trunc"]);
      expect(stdout.split("\n").filter(Boolean)).toEqual([after?.id]);
    } finally {
      await cleanupBuilder(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
