// Git smart HTTP: token auth, role checks (viewer fetches, member pushes), another team's repo is a 404,
// only deploy branches are accepted, nothing but the smart protocol is served. No build happens here:
// every push in this file is refused before a build starts (real builds are in the root tier).
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";

let srv: TestServer;
let owner: ApiClient;
const tokens: Record<string, string> = {};
const dirs: string[] = [];

beforeAll(async () => {
  srv = await startTestServer();
  owner = new ApiClient(srv.url);
  await owner.signUp("owner-git@example.com");
  expect((await owner.req("POST", "/api/v1/teams", { name: "gitteam" })).status).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: "gitapp", team: "gitteam" })).status).toBe(201);
  tokens.owner = (await owner.tokenClient()).token;
  for (const role of ["viewer", "member"]) {
    const c = new ApiClient(srv.url);
    await c.signUp(`${role}-git@example.com`);
    expect(
      (await owner.req("POST", "/api/v1/teams/gitteam/members", { email: `${role}-git@example.com`, role })).status,
    ).toBe(201);
    tokens[role] = (await c.tokenClient()).token;
  }
  const outsider = new ApiClient(srv.url);
  await outsider.signUp("outsider-git@example.com");
  tokens.outsider = (await outsider.tokenClient()).token;
});

afterAll(async () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await srv.close();
});

async function repo() {
  const d = await makeRepo({ "README.md": "hello\n" });
  dirs.push(d);
  return d;
}

describe("git endpoint", () => {
  it("lets a viewer clone (fetch) the app repository", async () => {
    const d = await repo();
    const r = await git(d, ["clone", "-q", remoteUrl(srv.url, "gitapp", tokens.viewer!), "clone"]);
    expect(r.code, r.out).toBe(0);
    expect(fs.existsSync(`${d}/clone/.git`)).toBe(true);
  });

  it("refuses a viewer's push with 403", async () => {
    const r = await git(await repo(), ["push", remoteUrl(srv.url, "gitapp", tokens.viewer!), "main"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/403/);
  });

  it("answers another team's user with 404 for fetch and push", async () => {
    const d = await repo();
    const fetch = await git(d, ["ls-remote", remoteUrl(srv.url, "gitapp", tokens.outsider!)]);
    expect(fetch.code).not.toBe(0);
    expect(fetch.out).toMatch(/not found/i);
    const push = await git(d, ["push", remoteUrl(srv.url, "gitapp", tokens.outsider!), "main"]);
    expect(push.code).not.toBe(0);
    expect(push.out).toMatch(/not found/i);
  });

  it("answers 401 without a valid token and with a revoked one at once", async () => {
    const d = await repo();
    const bad = await git(d, ["ls-remote", remoteUrl(srv.url, "gitapp", "berth_notarealtokenatallxxxxxxxxxxxx")]);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/Authentication failed/);

    const t = await owner.tokenClient("to-revoke");
    expect((await git(d, ["ls-remote", remoteUrl(srv.url, "gitapp", t.token)])).code).toBe(0);
    const list = await owner.req<any[]>("GET", "/api/v1/tokens");
    const id = list.body.find((x) => t.token.startsWith(x.prefix))?.id;
    expect((await owner.req("DELETE", `/api/v1/tokens/${id}`)).status).toBe(200);
    const after = await git(d, ["ls-remote", remoteUrl(srv.url, "gitapp", t.token)]);
    expect(after.code).not.toBe(0);
    expect(after.out).toMatch(/Authentication failed/);
  });

  it("refuses refs other than the deploy branches with a clear message, and records nothing", async () => {
    const d = await repo();
    const r = await git(d, ["push", remoteUrl(srv.url, "gitapp", tokens.member!), "main:feature"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("only main or master can be pushed; refusing refs/heads/feature");
    const tags = await git(d, ["push", remoteUrl(srv.url, "gitapp", tokens.member!), "HEAD:refs/tags/v1"]);
    expect(tags.code).not.toBe(0);
    expect(tags.out).toContain("refusing refs/tags/v1");
    const ls = await git(d, ["ls-remote", remoteUrl(srv.url, "gitapp", tokens.member!)]);
    expect(ls.out.trim()).toBe("");
    const builds = await owner.req<any[]>("GET", "/api/v1/apps/gitapp/builds");
    expect(builds.body).toEqual([]);
  });

  it("serves only the smart protocol and only valid app names", async () => {
    const auth = { authorization: `Basic ${Buffer.from(`x:${tokens.owner}`).toString("base64")}` };
    for (const p of [
      "/git/gitapp.git/HEAD",
      "/git/gitapp.git/objects/info/packs",
      "/git/gitapp.git/info/refs?service=git-upload-archive",
      "/git/..%2Fgitapp.git/info/refs?service=git-upload-pack",
      "/git/a;id.git/info/refs?service=git-upload-pack",
      "/git/$(id).git/info/refs?service=git-upload-pack",
    ]) {
      const r = await fetch(srv.url + p, { headers: auth });
      expect(r.status, p).toBe(404);
    }
    const get = await fetch(`${srv.url}/git/gitapp.git/git-upload-pack`, { headers: auth });
    expect(get.status).toBe(404);
  });

  it("refuses the internal hook endpoint without a live push secret", async () => {
    const r = await fetch(`${srv.url}/internal/git/hook`, {
      method: "POST",
      headers: { authorization: "Bearer guessed", "content-type": "application/json" },
      body: JSON.stringify({ updates: [] }),
    });
    expect(r.status).toBe(404);
  });

  it("removes the repository when the app is destroyed", async () => {
    expect((await owner.req("POST", "/api/v1/apps", { name: "gone-app", team: "gitteam" })).status).toBe(201);
    const d = await repo();
    expect((await git(d, ["ls-remote", remoteUrl(srv.url, "gone-app", tokens.owner!)])).code).toBe(0);
    expect(fs.existsSync(`${srv.dataDir}/git/gone-app.git`)).toBe(true);
    expect((await owner.req("DELETE", "/api/v1/apps/gone-app")).status).toBe(204);
    expect(fs.existsSync(`${srv.dataDir}/git/gone-app.git`)).toBe(false);
  });
});
