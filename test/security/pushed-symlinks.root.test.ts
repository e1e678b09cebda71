// Issue 12, finding 2: pushed symlinks must not reach host files. The attack: a link `x/up -> ..` makes
// `x/up/x/up/...` stay at the root of the tree on disk while a textual path check thinks it went deeper, so a
// Procfile -> `x/up/x/up/.../../../../<host path>` passed the old check and was read on the host. The host file here
// is one this test creates (root-only, random marker), never a real system file. The push must be refused with a
// clear message, and the marker must appear nowhere: not in the push output, the build record or a release.
// Real control plane, real git push through the git endpoint, real buildah and registry (root tier).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const BUSYBOX = "/bin/busybox";
const DOCKERFILE = `FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox","httpd","-f","-p","5000"]\n`;
const MARKER = `hostsecret${randomBytes(12).toString("hex")}`;
/** How often the `x/up/` pair repeats: its `..`s climb from the export dir to / whatever the temp dir's depth. */
const DEPTH = 12;

let srv: TestServer;
let owner: ApiClient;
let token = "";
let secretDir = "";
const dirs: string[] = [];

/** A relative link target that is inside the tree textually and the host path `abs` in fact (through `x/up`). */
function chainTo(abs: string): string {
  return `${"x/up/".repeat(DEPTH)}${"../".repeat(2 * DEPTH)}${abs.replace(/^\/+/, "")}`;
}

/** A repo with `files`, the `x/up -> ..` link and the given symlinks, committed on main. */
async function repoWithLinks(files: Record<string, string | Buffer>, links: Record<string, string>): Promise<string> {
  const d = await makeRepo(files);
  dirs.push(d);
  fs.mkdirSync(path.join(d, "x"), { recursive: true });
  fs.symlinkSync("..", path.join(d, "x", "up"));
  for (const [name, target] of Object.entries(links)) {
    fs.mkdirSync(path.dirname(path.join(d, name)), { recursive: true });
    fs.symlinkSync(target, path.join(d, name));
  }
  expect((await git(d, ["add", "-A"])).code).toBe(0);
  expect((await git(d, ["commit", "-qm", "links"])).code).toBe(0);
  return d;
}

async function app(name: string): Promise<void> {
  expect((await owner.req("POST", "/api/v1/apps", { name })).status).toBe(201);
}

/** Everything the platform kept about the app's builds and releases, as one string. */
async function recorded(name: string): Promise<string> {
  const releases = await owner.req<any[]>("GET", `/api/v1/apps/${name}/releases`);
  const builds = await owner.req<any[]>("GET", `/api/v1/apps/${name}/builds`);
  const details = await Promise.all(
    builds.body.map((b) => owner.req<any>("GET", `/api/v1/apps/${name}/builds/${b.id}`).then((r) => r.body)),
  );
  return JSON.stringify({ releases: releases.body, builds: builds.body, details });
}

describeRoot("pushed symlinks never reach host files (issue 12, finding 2)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-host-secret-"));
    fs.chmodSync(secretDir, 0o700);
    // Procfile syntax, so an old pipeline that read it would have stored it as a process type.
    fs.writeFileSync(path.join(secretDir, "secret"), `leak: ${MARKER}\n`, { mode: 0o600 });
    fs.mkdirSync(path.join(secretDir, "dir"), { mode: 0o700 });
    fs.writeFileSync(path.join(secretDir, "dir", "file"), `${MARKER}\n`, { mode: 0o600 });
    srv = await startTestServer({}, { registry: true });
    owner = new ApiClient(srv.url);
    await owner.signUp("symlinks@example.com");
    token = (await owner.tokenClient()).token;
  });

  afterAll(async () => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    if (secretDir) fs.rmSync(secretDir, { recursive: true, force: true });
    await srv?.close();
  });

  it("refuses a Procfile that reaches a host file through a chain of symlinks", async () => {
    await app("link-procfile");
    const d = await repoWithLinks(
      { Dockerfile: DOCKERFILE, busybox: fs.readFileSync(BUSYBOX) },
      { Procfile: chainTo(path.join(secretDir, "secret")) },
    );
    const push = await git(d, ["push", remoteUrl(srv.url, "link-procfile", token), "main"]);
    expect(push.code, push.out).not.toBe(0);
    expect(push.out).not.toContain(MARKER);
    expect(push.out).toContain("error: build failed: Procfile is a symbolic link");
    expect(push.out).toContain("pre-receive hook declined");
    const kept = await recorded("link-procfile");
    expect(kept).not.toContain(MARKER);
    expect((await owner.req<any[]>("GET", "/api/v1/apps/link-procfile/releases")).body).toEqual([]);
  });

  it("refuses a Dockerfile that is a symbolic link, even to a file inside the tree", async () => {
    await app("link-dockerfile");
    const inside = await repoWithLinks(
      { "docker/Dockerfile": DOCKERFILE, busybox: fs.readFileSync(BUSYBOX) },
      { Dockerfile: "docker/Dockerfile" },
    );
    const push = await git(inside, ["push", remoteUrl(srv.url, "link-dockerfile", token), "main"]);
    expect(push.code, push.out).not.toBe(0);
    expect(push.out).toContain("error: build failed: Dockerfile is a symbolic link");

    // And the chain to the host file: refused the same way, nothing of the file shows.
    const outside = await repoWithLinks(
      { busybox: fs.readFileSync(BUSYBOX) },
      { Dockerfile: chainTo(path.join(secretDir, "secret")) },
    );
    const push2 = await git(outside, ["push", remoteUrl(srv.url, "link-dockerfile", token), "main"]);
    expect(push2.code, push2.out).not.toBe(0);
    expect(push2.out).not.toContain(MARKER);
    expect(push2.out.toLowerCase()).not.toContain(MARKER.toLowerCase());
    expect(push2.out).toContain("error: build failed: Dockerfile is a symbolic link");
    expect(await recorded("link-dockerfile")).not.toContain(MARKER);
  });

  it("refuses any other link that leaves the tree through a chain, before anything copies the tree", async () => {
    await app("link-data");
    const d = await repoWithLinks(
      {
        Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nCOPY data /data\nRUN ["/bin/busybox","cat","/data/file"]\nCMD ["/bin/busybox","httpd","-f","-p","5000"]\n`,
        busybox: fs.readFileSync(BUSYBOX),
      },
      { data: chainTo(path.join(secretDir, "dir")) },
    );
    const push = await git(d, ["push", remoteUrl(srv.url, "link-data", token), "main"]);
    expect(push.code, push.out).not.toBe(0);
    expect(push.out).not.toContain(MARKER);
    expect(push.out).toContain("error: build failed: symlinks pointing outside the source tree: data");
    expect(await recorded("link-data")).not.toContain(MARKER);
  });

  it("still builds a tree whose links stay inside it (also through a chain, and dangling ones)", async () => {
    await app("link-inside");
    const d = await repoWithLinks(
      {
        Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /src\nCMD ["/bin/busybox","httpd","-f","-p","5000"]\n`,
        busybox: fs.readFileSync(BUSYBOX),
        "docs/readme.txt": "hello\n",
      },
      { "docs/again": "../x/up/docs", readme: "x/up/x/up/docs/readme.txt", "docs/missing": "../nowhere/file" },
    );
    const push = await git(d, ["push", remoteUrl(srv.url, "link-inside", token), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toMatch(/Released v1/);
  });
});
