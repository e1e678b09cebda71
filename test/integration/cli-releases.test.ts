// The real `berth` CLI for git remotes, releases, builds and deploy against a real control plane (no root: no
// builds or image copies happen here; see test/root/cli-deploy.root.test.ts for those).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { git } from "../helpers/git.ts";
import { runBerth, type CliRun } from "../helpers/cli.ts";

let srv: TestServer;
let tmp: string;
let token = "";
let owner: ApiClient;

/** Runs `berth ARGS` with a token for this test's server; never throws on a non-zero exit. */
function berth(args: string[], opts: { cwd?: string } = {}): Promise<CliRun> {
  return runBerth(args, { url: srv.url, token, home: tmp, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
}

const oneLineError = (r: CliRun) => {
  expect(r.stderr).toMatch(/^berth: /);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
};

beforeAll(async () => {
  srv = await startTestServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-releases-"));
  owner = new ApiClient(srv.url);
  expect((await owner.signUp("releaser@example.com")).status).toBe(201);
  token = (await owner.tokenClient("cli")).token;
  expect((await owner.req("POST", "/api/v1/apps", { name: "shop" })).status).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: "other" })).status).toBe(201);
});

afterAll(async () => {
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("berth apps:create", () => {
  it("still prints the git URL, plus how to add the remote", async () => {
    const r = await berth(["apps:create", "fresh"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Git URL: +http:\/\/\S+\/git\/fresh\.git/);
    expect(r.stdout).toContain("berth git:remote -a fresh");
  });
});

describe("berth git:remote", () => {
  let repo: string;
  const gitUrl = async (app: string) => (await owner.req<any>("GET", `/api/v1/apps/${app}`)).body.gitUrl as string;

  beforeAll(async () => {
    repo = path.join(tmp, "repo");
    fs.mkdirSync(repo);
    expect((await git(repo, ["init", "-q", "-b", "main"])).code).toBe(0);
  });

  it("adds the remote `berth` with the app's git URL and says how to push", async () => {
    const r = await berth(["git:remote", "-a", "shop"], { cwd: repo });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const url = await gitUrl("shop");
    expect(url).toMatch(/\/git\/shop\.git$/);
    expect((await git(repo, ["remote", "get-url", "berth"])).out.trim()).toBe(url);
    expect(r.stdout).toContain(`Added git remote berth: ${url}`);
    expect(r.stdout).toContain("git push berth main");
    expect(r.stdout).toContain(`git uses your berth login for ${new URL(url).origin}`);
    // Commands without -a now find the app through that remote.
    const info = await berth(["apps:info", "--json"], { cwd: repo });
    expect(JSON.parse(info.stdout).name).toBe("shop");
  });

  it("sets a credential helper that gives git the CLI's token for that origin only", async () => {
    const origin = new URL(await gitUrl("shop"));
    const fill = (host: string, env: Record<string, string> = { BERTH_URL: srv.url, BERTH_TOKEN: token }) =>
      spawnSync("git", ["credential", "fill"], {
        cwd: repo,
        input: `protocol=http\nhost=${host}\n\n`,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: tmp,
          GIT_TERMINAL_PROMPT: "0",
          NODE_ENV: "test",
          ...env,
        },
      });
    const ok = fill(origin.host);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`password=${token}\n`);
    // Another host, or a CLI now pointed at another server: git gets nothing (and cannot prompt here).
    expect(fill("evil.example:80").stdout).not.toContain(token);
    expect(fill(origin.host, { BERTH_URL: "http://127.0.0.2:1", BERTH_TOKEN: token }).stdout).not.toContain(token);
    const cfg = await git(repo, ["config", "--local", "--get-all", `credential.${origin.origin}.helper`]);
    expect(cfg.out.trim().split("\n")).toHaveLength(1);
  });

  it("running it again keeps the URL; for another app it updates it (set-url)", async () => {
    const same = await berth(["git:remote", "-a", "shop", "--json"], { cwd: repo });
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ app: "shop", remote: "berth", action: "unchanged" });

    const r = await berth(["git:remote", "-a", "other"], { cwd: repo });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Updated git remote berth: \S+\/git\/other\.git \(was \S+\/git\/shop\.git\)$/m);
    expect((await git(repo, ["remote", "get-url", "berth"])).out.trim()).toBe(await gitUrl("other"));
    const remotes = (await git(repo, ["remote"])).out.trim().split("\n");
    expect(remotes).toEqual(["berth"]);
  });

  it("--remote NAME sets another remote; works from a subdirectory of the repository", async () => {
    const sub = path.join(repo, "src", "deep");
    fs.mkdirSync(sub, { recursive: true });
    const r = await berth(["git:remote", "-a", "shop", "--remote", "production", "--json"], { cwd: sub });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ remote: "production", action: "added", url: await gitUrl("shop") });
    expect((await git(repo, ["remote", "get-url", "production"])).out.trim()).toBe(await gitUrl("shop"));
  });

  it("refuses remote names that git could read as options", async () => {
    for (const name of ["-f", "a b", "../x", "x.lock"]) {
      const r = await berth(["git:remote", "-a", "shop", `--remote=${name}`], { cwd: repo });
      expect(r.code, name).toBe(2);
      oneLineError(r);
      expect(r.stderr).toMatch(/invalid remote name/);
    }
    expect((await git(repo, ["remote"])).out.trim().split("\n").sort()).toEqual(["berth", "production"]);
  });

  it("outside a git repository: a clear error, nothing written", async () => {
    const plain = path.join(tmp, "not-a-repo");
    fs.mkdirSync(plain);
    const r = await berth(["git:remote", "-a", "shop"], { cwd: plain });
    expect(r.code).toBe(2);
    oneLineError(r);
    expect(r.stderr).toMatch(/^berth: not inside a git repository/);
    expect(fs.existsSync(path.join(plain, ".git"))).toBe(false);
  });

  it("an unknown app is an API error (exit 1) and leaves the remote alone", async () => {
    const before = (await git(repo, ["remote", "get-url", "berth"])).out.trim();
    const r = await berth(["git:remote", "-a", "missing"], { cwd: repo });
    expect(r.code).toBe(1);
    oneLineError(r);
    expect(r.stderr).toMatch(/not found/);
    expect((await git(repo, ["remote", "get-url", "berth"])).out.trim()).toBe(before);
  });
});

describe("berth releases / builds on an app without any", () => {
  it("releases: no table, and --json is []", async () => {
    const r = await berth(["releases", "-a", "shop"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/VERSION/);
    expect(r.stdout).toMatch(/^No releases of shop yet/);
    const j = await berth(["releases", "-a", "shop", "--json"]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual([]);
  });

  it("builds: no table, and --json is []", async () => {
    const r = await berth(["builds", "-a", "shop"]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/STATUS/);
    expect(r.stdout).toMatch(/^No builds of shop yet/);
    const j = await berth(["builds", "-a", "shop", "--json"]);
    expect(JSON.parse(j.stdout)).toEqual([]);
  });

  it("releases:info of a missing version is not found (exit 1); a malformed one is a usage error", async () => {
    for (const v of ["v7", "7"]) {
      const r = await berth(["releases:info", v, "-a", "shop"]);
      expect(r.code).toBe(1);
      oneLineError(r);
      expect(r.stderr).toMatch(/release v7.*not found/i);
    }
    const bad = await berth(["releases:info", "v0", "-a", "shop"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^berth: invalid release "v0"/);
  });

  it("builds:info of a missing build is not found (exit 1); a malformed id is a usage error", async () => {
    const r = await berth(["builds:info", "a".repeat(25), "-a", "shop"]);
    expect(r.code).toBe(1);
    oneLineError(r);
    expect(r.stderr).toMatch(/not found/i);
    const bad = await berth(["builds:info", "../x", "-a", "shop"]);
    expect(bad.code).toBe(2);
    oneLineError(bad);
  });
});

describe("berth deploy", () => {
  it("an invalid image reference is the API's validation error (exit 1); no release is created", async () => {
    const r = await berth(["deploy", "--image", "a b", "-a", "shop"]);
    expect(r.code).toBe(1);
    oneLineError(r);
    expect(r.stderr).toMatch(/image reference/);
    expect((await owner.req<any[]>("GET", "/api/v1/apps/shop/releases")).body).toEqual([]);
  });

  it("--image is required (exit 2)", async () => {
    const r = await berth(["deploy", "-a", "shop"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--image/);
  });
});
