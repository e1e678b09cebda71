// git push -> buildah build -> platform registry -> release, with the real tools (root tier).
import fs from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";

const BUSYBOX = "/bin/busybox";
const dockerfile = (extra = "") =>
  `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n${extra}CMD ["httpd","-f","-p","5000"]\n`;

let srv: TestServer;
let owner: ApiClient;
let token = "";
const dirs: string[] = [];

async function app(name: string) {
  expect((await owner.req("POST", "/api/v1/apps", { name })).status).toBe(201);
}
async function repo(files: Record<string, string | Buffer>) {
  const d = await makeRepo(files);
  dirs.push(d);
  return d;
}

describeRoot("git push builds and releases (buildah, registry)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    srv = await startTestServer({}, { registry: true });
    owner = new ApiClient(srv.url);
    await owner.signUp("builder@example.com");
    token = (await owner.tokenClient()).token;
  });
  afterAll(async () => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await srv?.close();
  });

  it("builds a Dockerfile app, pushes the image to the registry and creates v1", async () => {
    await app("dock-ok");
    const d = await repo({ Dockerfile: dockerfile(), busybox: fs.readFileSync(BUSYBOX) });
    const push = await git(d, ["push", remoteUrl(srv.url, "dock-ok", token), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toContain("remote: -----> Detected Dockerfile");
    expect(push.out).toMatch(/remote: -----> Released v1/);
    expect(push.out).toContain("http://dock-ok.localhost:");

    const releases = await owner.req<any[]>("GET", "/api/v1/apps/dock-ok/releases");
    expect(releases.body).toHaveLength(1);
    const v1 = releases.body[0];
    expect(v1.version).toBe(1);
    expect(v1.processTypes).toEqual({ web: "" });
    expect(v1.image).toMatch(/^dock-ok@sha256:[0-9a-f]{64}$/);

    // The image really is in the platform registry, behind its credentials.
    const reg = srv.cp.registry();
    const digest = v1.image.split("@")[1];
    const url = `http://${reg.host}/v2/dock-ok/manifests/${digest}`;
    const accept = {
      accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    };
    expect((await fetch(url, { headers: accept })).status).toBe(401);
    const auth = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString("base64")}`;
    expect((await fetch(url, { headers: { ...accept, authorization: auth } })).status).toBe(200);

    const builds = await owner.req<any[]>("GET", "/api/v1/apps/dock-ok/builds");
    expect(builds.body[0].status).toBe("succeeded");
    const detail = await owner.req<any>("GET", `/api/v1/apps/dock-ok/builds/${builds.body[0].id}`);
    expect(detail.body.output).toContain("STEP 4/4");
  });

  it("rejects a push whose build fails, with the error, and changes nothing", async () => {
    await app("dock-broken");
    const good = await repo({ Dockerfile: dockerfile(), busybox: fs.readFileSync(BUSYBOX) });
    expect((await git(good, ["push", remoteUrl(srv.url, "dock-broken", token), "main"])).code).toBe(0);
    const before = (await git(good, ["rev-parse", "HEAD"])).out.trim();

    fs.writeFileSync(`${good}/Dockerfile`, dockerfile('RUN ["/bin/sh","-c","echo failing on purpose; exit 3"]\n'));
    await git(good, ["commit", "-qam", "break it"]);
    const push = await git(good, ["push", remoteUrl(srv.url, "dock-broken", token), "main"]);
    expect(push.code).not.toBe(0);
    expect(push.out).toContain("failing on purpose");
    expect(push.out).toContain("error: build failed");
    expect(push.out).toContain("pre-receive hook declined");

    const releases = await owner.req<any[]>("GET", "/api/v1/apps/dock-broken/releases");
    expect(releases.body.map((r) => r.version)).toEqual([1]);
    const remote = await git(good, ["ls-remote", remoteUrl(srv.url, "dock-broken", token), "refs/heads/main"]);
    expect(remote.out.split("\t")[0]).toBe(before);
    const builds = await owner.req<any[]>("GET", "/api/v1/apps/dock-broken/builds");
    expect(builds.body[0]).toMatchObject({ status: "failed" });
  });

  it("takes process types from the Procfile; new types start at 0", async () => {
    await app("dock-procs");
    const d = await repo({
      Dockerfile: dockerfile(),
      busybox: fs.readFileSync(BUSYBOX),
      Procfile: "web: httpd -f -p $PORT\nworker: sleep 100000\n",
    });
    const push = await git(d, ["push", remoteUrl(srv.url, "dock-procs", token), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toContain("process types: web, worker");
    const rel = await owner.req<any>("GET", "/api/v1/apps/dock-procs/releases/v1");
    expect(rel.body.processTypes).toEqual({ web: "httpd -f -p $PORT", worker: "sleep 100000" });
    const appInfo = await owner.req<any>("GET", "/api/v1/apps/dock-procs");
    expect(appInfo.body.formation).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "web", quantity: 1 }),
        expect.objectContaining({ type: "worker", quantity: 0 }),
      ]),
    );
  });

  it("refuses a build context with a symlink to a host path", async () => {
    await app("dock-symlink");
    const d = await repo({ Dockerfile: dockerfile("COPY secrets /secrets\n"), busybox: fs.readFileSync(BUSYBOX) });
    fs.symlinkSync("/etc", `${d}/secrets`);
    await git(d, ["add", "-A"]);
    await git(d, ["commit", "-qm", "symlink"]);
    const push = await git(d, ["push", remoteUrl(srv.url, "dock-symlink", token), "main"]);
    expect(push.code).not.toBe(0);
    expect(push.out).toContain("symlinks pointing outside the source tree: secrets");
    expect((await owner.req<any[]>("GET", "/api/v1/apps/dock-symlink/releases")).body).toEqual([]);
  });

  it("queues concurrent pushes to one app; the later one is refused because the ref moved", async () => {
    await app("dock-queue");
    const a = await repo({
      Dockerfile: dockerfile('RUN ["/bin/sh","-c","sleep 1"]\n'),
      busybox: fs.readFileSync(BUSYBOX),
      "a.txt": "a",
    });
    const b = await repo({ Dockerfile: dockerfile(), busybox: fs.readFileSync(BUSYBOX), "b.txt": "b" });
    const url = remoteUrl(srv.url, "dock-queue", token);
    const results = await Promise.all([git(a, ["push", url, "main"]), git(b, ["push", url, "main"])]);
    const ok = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.code !== 0);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.out).toContain("main was updated by another push while this one waited");
    // Only the accepted push released; no orphan release for the refused one.
    const versions = (await owner.req<any[]>("GET", "/api/v1/apps/dock-queue/releases")).body.map((r) => r.version);
    expect(versions).toEqual([1]);
  });

  it("builds pushes to different apps, each to its own release", async () => {
    await app("dock-par-a");
    await app("dock-par-b");
    const a = await repo({ Dockerfile: dockerfile(), busybox: fs.readFileSync(BUSYBOX) });
    const [pa, pb] = await Promise.all([
      git(a, ["push", remoteUrl(srv.url, "dock-par-a", token), "main"]),
      git(a, ["push", remoteUrl(srv.url, "dock-par-b", token), "main"]),
    ]);
    expect(pa.code, pa.out).toBe(0);
    expect(pb.code, pb.out).toBe(0);
    for (const name of ["dock-par-a", "dock-par-b"]) {
      expect((await owner.req<any[]>("GET", `/api/v1/apps/${name}/releases`)).body).toHaveLength(1);
    }
  });
  it("deploys an existing image as a release (berth deploy --image), with authorization on platform images", async () => {
    await app("img-deploy");
    const source = (await owner.req<any[]>("GET", "/api/v1/apps/dock-ok/releases")).body[0].image as string;
    const r = await owner.req<any>("POST", "/api/v1/apps/img-deploy/releases", { image: source });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ version: 1, processTypes: { web: "" }, description: `Deploy image ${source}` });
    expect(r.body.image).toBe(`img-deploy@${source.split("@")[1]}`);

    // Another team's user cannot pull dock-ok's image into their own app.
    const outsider = new ApiClient(srv.url);
    await outsider.signUp("img-outsider@example.com");
    expect((await outsider.req("POST", "/api/v1/apps", { name: "img-thief" })).status).toBe(201);
    const stolen = await outsider.req<any>("POST", "/api/v1/apps/img-thief/releases", { image: source });
    expect(stolen.status).toBe(404);
    expect((await outsider.req<any[]>("GET", "/api/v1/apps/img-thief/releases")).body).toEqual([]);

    const unreachable = await owner.req<any>("POST", "/api/v1/apps/img-deploy/releases", {
      image: "127.0.0.1:1/nothing:latest",
    });
    expect(unreachable.status).toBe(422);
    expect(unreachable.body.error.message).toMatch(/^cannot pull the image/);
    for (const image of ["--src-creds=x", "docker://busybox", "a b", "busybox;id", "../x"]) {
      const bad = await owner.req<any>("POST", "/api/v1/apps/img-deploy/releases", { image });
      expect(bad.status, image).toBe(422);
    }
    expect((await owner.req<any[]>("GET", "/api/v1/apps/img-deploy/releases")).body).toHaveLength(1);
  });
  it("reuses the last image for a push without source changes", async () => {
    await app("dock-same");
    const d = await repo({ Dockerfile: dockerfile(), busybox: fs.readFileSync(BUSYBOX) });
    const url = remoteUrl(srv.url, "dock-same", token);
    expect((await git(d, ["push", url, "main"])).code).toBe(0);
    await git(d, ["commit", "-q", "--allow-empty", "-m", "nothing changed"]);
    const again = await git(d, ["push", url, "main"]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain("No source changes since");
    expect(again.out).not.toContain("STEP 1/");
    const releases = (await owner.req<any[]>("GET", "/api/v1/apps/dock-same/releases")).body;
    expect(releases.map((r) => r.version)).toEqual([2, 1]);
    expect(releases[0].image).toBe(releases[1].image);
  });
});
