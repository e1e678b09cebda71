// The real `berth` CLI as a child process against a real control plane: login, apps, teams, tokens, errors.
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin/berth.mjs");
const PASSWORD = "correct-horse-battery";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let srv: TestServer;
let tmp: string;
let configHome: string;
let alice: ApiClient;
let bob: ApiClient;

/** Runs `berth ARGS` with this test's server and config dir; never throws on a non-zero exit. */
function berth(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_URL: srv.url, XDG_CONFIG_HOME: configHome, ...opts.env };
  if (!opts.env?.BERTH_TOKEN) delete env.BERTH_TOKEN;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: opts.cwd ?? ROOT, env, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const configFile = () => path.join(configHome, "berth", "config.json");
const savedToken = () => (JSON.parse(fs.readFileSync(configFile(), "utf8")) as { token: string }).token;

/** A client that uses only `token`. */
function withToken(token: string): ApiClient {
  const c = new ApiClient(srv.url);
  c.token = token;
  return c;
}

beforeAll(async () => {
  srv = await startTestServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-test-"));
  configHome = path.join(tmp, "config");
  alice = new ApiClient(srv.url);
  expect((await alice.signUp("alice@example.com", PASSWORD)).status).toBe(201);
  bob = new ApiClient(srv.url);
  expect((await bob.signUp("bob@example.com", PASSWORD)).status).toBe(201);
});

afterAll(async () => {
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("berth login / whoami", () => {
  it("refuses to prompt when stdin is not a terminal", async () => {
    const r = await berth(["login"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^berth: .*--email and --password are required/);
    expect(fs.existsSync(configFile())).toBe(false);
  });

  it("reports a wrong password in one sentence and saves nothing", async () => {
    const r = await berth(["login", "--email", "alice@example.com", "--password", "wrong-password-123"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^berth: /);
    expect(r.stderr).not.toContain("berth login");
    expect(fs.existsSync(configFile())).toBe(false);
  });

  it("logs in with flags, saves the token with mode 0600 in a 0700 directory", async () => {
    const r = await berth(["login", "--email", "alice@example.com", "--password", PASSWORD]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("alice@example.com");
    const st = fs.statSync(configFile());
    expect(st.mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(configFile())).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(fs.readFileSync(configFile(), "utf8"));
    expect(saved).toEqual({ url: srv.url, email: "alice@example.com", token: expect.stringMatching(/^berth_/) });
    const tokens = await withToken(saved.token).req("GET", "/api/v1/tokens");
    expect(tokens.body.map((t: any) => t.name)).toContainEqual(expect.stringMatching(/^cli@/));
  });

  it("whoami prints the email, and --json parses", async () => {
    const r = await berth(["whoami"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("alice@example.com");
    const j = await berth(["whoami", "--json"]);
    expect(j.code).toBe(0);
    const body = JSON.parse(j.stdout);
    expect(body.user.email).toBe("alice@example.com");
    expect(body.via).toBe("token");
  });

  it("logging in again replaces and revokes the previous token", async () => {
    const old = savedToken();
    const r = await berth(["login", "--email", "alice@example.com", "--password", PASSWORD, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ email: "alice@example.com", url: srv.url });
    expect(savedToken()).not.toBe(old);
    expect((await withToken(old).req("GET", "/api/v1/session")).status).toBe(401);
  });

  it("BERTH_TOKEN overrides the saved login", async () => {
    const bobToken = (await bob.tokenClient("bob-ci")).token;
    const r = await berth(["whoami"], { env: { BERTH_TOKEN: bobToken } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("bob@example.com");
    const bad = await berth(["whoami"], { env: { BERTH_TOKEN: "berth_not-a-real-token" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^berth: .*BERTH_TOKEN/);
  });

  it("never sends the saved token to a different BERTH_URL", async () => {
    const seen: string[] = [];
    const other = http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? "none");
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const port = (other.address() as { port: number }).port;
      const r = await berth(["whoami"], { env: { BERTH_URL: `http://127.0.0.1:${port}` } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not logged in/);
      expect(seen).toEqual([]);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it("says when Berth cannot be reached", async () => {
    // A port that was just free: connecting to it is refused.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const url = `http://127.0.0.1:${port}`;
    const r = await berth(["apps"], { env: { BERTH_URL: url, BERTH_TOKEN: "berth_x" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `berth: cannot reach Berth at ${url}: connection refused (is it running, and is BERTH_URL right?)\n`,
    );
  });
});

describe("berth apps", () => {
  it("apps:create prints the app, its web URL and git URL", async () => {
    const r = await berth(["apps:create", "shop"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("shop");
    expect(r.stdout).toMatch(/Web URL: +http:\/\/shop\./);
    expect(r.stdout).toMatch(/Git URL: +http:\/\/\S+\/git\/shop\.git/);
  });

  it("apps lists as a table and as JSON", async () => {
    const r = await berth(["apps"]);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trim().split("\n");
    expect(header).toMatch(/^NAME +TEAM +RELEASE +WEB URL$/);
    expect(rows.some((row) => row.startsWith("shop "))).toBe(true);
    const j = await berth(["apps", "--json"]);
    expect(JSON.parse(j.stdout).map((a: any) => a.name)).toEqual(["shop"]);
  });

  it("apps:info -a APP shows the app", async () => {
    const r = await berth(["apps:info", "-a", "shop", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: "shop", role: "owner" });
    const human = await berth(["apps:info", "-a", "shop"]);
    expect(human.stdout).toMatch(/^Name: +shop$/m);
  });

  it("takes the app from the git remote `berth` when -a is omitted", async () => {
    const repo = path.join(tmp, "repo");
    fs.mkdirSync(repo);
    const git = (...args: string[]) =>
      new Promise<void>((resolve, reject) =>
        execFile("git", args, { cwd: repo }, (err) => (err ? reject(err) : resolve())),
      );
    await git("init", "-q");
    await git("remote", "add", "berth", `${srv.url}/git/shop.git`);
    const r = await berth(["apps:info", "--json"], { cwd: repo });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).name).toBe("shop");
    const none = await berth(["apps:info"], { cwd: tmp });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^berth: no app given/);
  });

  it("rejects a bad app name with a clear error and changes nothing", async () => {
    for (const args of [
      ["apps:create", "a;id"],
      ["apps:info", "-a", "a;id"],
      ["apps:destroy", "-a", "a;id", "--confirm", "a;id"],
    ]) {
      const r = await berth(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^berth: invalid app name "a;id": /);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    const apps = await alice.req("GET", "/api/v1/apps");
    expect(apps.body.map((a: any) => a.name)).toEqual(["shop"]);
  });

  it("apps:destroy refuses without the matching --confirm and deletes nothing", async () => {
    for (const args of [
      ["apps:destroy", "-a", "shop"],
      ["apps:destroy", "-a", "shop", "--confirm", "shops"],
    ]) {
      const r = await berth(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^berth: refusing to destroy shop/);
    }
    expect((await alice.req("GET", "/api/v1/apps/shop")).status).toBe(200);
  });

  it("apps:destroy with --confirm APP deletes the app", async () => {
    const r = await berth(["apps:destroy", "-a", "shop", "--confirm", "shop", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ destroyed: "shop" });
    expect((await alice.req("GET", "/api/v1/apps/shop")).status).toBe(404);
  });

  it("prints the API's message for API errors", async () => {
    const r = await berth(["apps:info", "-a", "missing"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^berth: app .*not found\n$/);
  });
});

describe("berth teams / members", () => {
  it("teams:create and teams", async () => {
    const r = await berth(["teams:create", "crew"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("crew");
    const j = await berth(["teams", "--json"]);
    expect(JSON.parse(j.stdout)).toContainEqual(expect.objectContaining({ name: "crew", role: "owner" }));
  });

  it("members:add adds an existing user", async () => {
    const r = await berth(["members:add", "bob@example.com", "--role", "member", "-t", "crew"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Added bob@example.com to crew as member/);
    const m = await berth(["members", "-t", "crew", "--json"]);
    expect(JSON.parse(m.stdout).map((x: any) => [x.email, x.role])).toEqual(
      expect.arrayContaining([
        ["alice@example.com", "owner"],
        ["bob@example.com", "member"],
      ]),
    );
  });

  it("members:add invites an unknown email and prints the full invite URL", async () => {
    const r = await berth(["members:add", "carol@example.com", "--role", "member", "-t", "crew"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${srv.url.replace(/\./g, "\\.")}/invite/\\S+$`, "m"));
    const j = await berth(["members:add", "dave@example.com", "-t", "crew", "--json"]);
    const body = JSON.parse(j.stdout);
    expect(body.inviteUrl).toBe(`${srv.url}${body.invitation.acceptPath}`);
  });

  it("members:set-role and members:remove", async () => {
    const bad = await berth(["members:set-role", "bob@example.com", "--role", "boss", "-t", "crew"]);
    expect(bad.code).toBe(2);
    const r = await berth(["members:set-role", "bob@example.com", "--role", "admin", "-t", "crew", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).role).toBe("admin");
    const rm = await berth(["members:remove", "bob@example.com", "-t", "crew"]);
    expect(rm.code).toBe(0);
    const m = await alice.req("GET", "/api/v1/teams/crew/members");
    expect(m.body.map((x: any) => x.email)).toEqual(["alice@example.com"]);
  });

  it("members needs -t", async () => {
    const r = await berth(["members"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^berth: .*--team/);
  });
});

describe("berth tokens", () => {
  it("tokens:create prints the secret once, tokens lists it, tokens:revoke kills it at once", async () => {
    const c = await berth(["tokens:create", "--name", "ci", "--expires-in-days", "30"]);
    expect(c.code).toBe(0);
    expect(c.stderr).toMatch(/will not be shown again/);
    const secret = c.stdout.trim();
    expect(secret).toMatch(/^berth_\S+$/);
    expect((await withToken(secret).req("GET", "/api/v1/session")).status).toBe(200);

    const list = await berth(["tokens", "--json"]);
    const ci = JSON.parse(list.stdout).find((t: any) => t.name === "ci");
    expect(ci.expiresAt).not.toBeNull();
    expect(JSON.stringify(JSON.parse(list.stdout))).not.toContain(secret);
    const table = await berth(["tokens"]);
    expect(table.stdout).toMatch(new RegExp(`^${ci.id} +ci +`, "m"));

    const r = await berth(["tokens:revoke", ci.id]);
    expect(r.code).toBe(0);
    expect((await withToken(secret).req("GET", "/api/v1/session")).status).toBe(401);
  });

  it("tokens:create --json includes the secret; bad --expires-in-days is a usage error", async () => {
    const j = await berth(["tokens:create", "--json"]);
    expect(JSON.parse(j.stdout).token).toMatch(/^berth_/);
    const bad = await berth(["tokens:create", "--expires-in-days", "0"]);
    expect(bad.code).toBe(2);
  });
});

describe("berth logout", () => {
  it("a revoked saved token gets a hint to log in again", async () => {
    const secret = savedToken();
    const tokens = await withToken(secret).req("GET", "/api/v1/tokens");
    const mine = tokens.body.find((t: any) => t.prefix === secret.slice(0, 12));
    await alice.req("DELETE", `/api/v1/tokens/${mine.id}`);
    const r = await berth(["whoami"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^berth: .*berth login/);
  });

  it("logout revokes the token and removes the saved login", async () => {
    const login = await berth(["login", "--email", "alice@example.com", "--password", PASSWORD]);
    expect(login.code).toBe(0);
    const secret = savedToken();
    const r = await berth(["logout"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(fs.existsSync(configFile())).toBe(false);
    expect((await withToken(secret).req("GET", "/api/v1/session")).status).toBe(401);
    const again = await berth(["whoami"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not logged in/);
  });
});
