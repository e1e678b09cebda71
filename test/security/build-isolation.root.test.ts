// Issue 12, finding 1: a build must not see another app's images. Two users in no shared team: team A pushes a
// Dockerfile app with a secret file; team B's Dockerfiles name A's local image by tag, short name, image id and
// digest (`FROM ... AS x` + `COPY --from=x`, and `COPY --from=<image>`). Every one of B's builds must fail without
// A's file, and destroying A removes its builder store, so a new app with A's name (in team B) starts empty.
// Real control plane, real git push through the git endpoint, real buildah and registry (root tier).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  appStoreDirOf,
  appStoreOf,
  localContainers,
  localImages,
  stackStoreOf,
  buildahIn,
} from "../helpers/builder-stores.ts";
import { until } from "../helpers/until.ts";

const BUSYBOX = "/bin/busybox";
const suffix = randomBytes(3).toString("hex");
const A = `iso-a-${suffix}`;
const B = `iso-b-${suffix}`;
const MARKER = `team-a-secret-${randomBytes(12).toString("hex")}`;

let srv: TestServer;
let alice: ApiClient;
let bob: ApiClient;
let aliceToken = "";
let bobToken = "";
const dirs: string[] = [];

async function repo(files: Record<string, string | Buffer>): Promise<string> {
  const d = await makeRepo(files);
  dirs.push(d);
  return d;
}

/** Bob's Dockerfile that tries to copy A's secret out of `ref` (a stage named after it, or COPY --from directly). */
function thief(ref: string, direct = false): string {
  const steal = direct ? `COPY --from=${ref} /secret.txt /stolen.txt\n` : "COPY --from=x /secret.txt /stolen.txt\n";
  return `${direct ? "" : `FROM ${ref} AS x\n`}FROM scratch\nCOPY busybox /bin/busybox\n${steal}CMD ["/bin/busybox","httpd","-f","-p","5000"]\n`;
}

async function releasesOf(c: ApiClient, app: string): Promise<any[]> {
  const r = await c.req<any[]>("GET", `/api/v1/apps/${app}/releases`);
  expect(r.status).toBe(200);
  return r.body;
}

describeRoot("builds see only their own app's images (issue 12, finding 1)", () => {
  let aId = "";
  let aImage = { id: "", digest: "" };

  beforeAll(async () => {
    if (!isRoot) return;
    srv = await startTestServer({}, { registry: true });
    alice = new ApiClient(srv.url);
    bob = new ApiClient(srv.url);
    // Each sign-up gets its own personal team; the two users share none.
    expect((await alice.signUp(`alice-${suffix}@example.com`)).status).toBe(201);
    expect((await bob.signUp(`bob-${suffix}@example.com`)).status).toBe(201);
    aliceToken = (await alice.tokenClient()).token;
    bobToken = (await bob.tokenClient()).token;
    expect((await alice.req("POST", "/api/v1/apps", { name: A })).status).toBe(201);
    expect((await bob.req("POST", "/api/v1/apps", { name: B })).status).toBe(201);
    expect((await bob.req("GET", `/api/v1/apps/${A}`)).status).toBe(404);
    aId = (await alice.req<any>("GET", `/api/v1/apps/${A}`)).body.id;

    const d = await repo({
      Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nCOPY secret.txt /secret.txt\nCMD ["/bin/busybox","httpd","-f","-p","5000"]\n`,
      busybox: fs.readFileSync(BUSYBOX),
      "secret.txt": `${MARKER}\n`,
    });
    const push = await git(d, ["push", remoteUrl(srv.url, A, aliceToken), "main"]);
    expect(push.code, push.out).toBe(0);
    // A's local image, wherever the builder keeps it: its id and digest are what B's Dockerfile names below.
    const mine = (await localImages(srv.dataDir)).find((i) => i.names.includes(`localhost/berth-build/${A}:latest`));
    expect(mine, "A's build left its image in a builder store").toBeTruthy();
    aImage = { id: mine!.id, digest: mine!.digest };
  });

  afterAll(async () => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await srv?.close();
  });

  it("keeps app images out of the shared stack store, for stack builds too", async () => {
    // A stack build (static site) of another of Alice's apps: built in that app's store on the shared stack.
    const site = `iso-site-${suffix}`;
    expect((await alice.req("POST", "/api/v1/apps", { name: site })).status).toBe(201);
    const siteId = (await alice.req<any>("GET", `/api/v1/apps/${site}`)).body.id;
    const d = await repo({ "index.html": `<p>${MARKER}</p>\n` });
    const push = await git(d, ["push", remoteUrl(srv.url, site, aliceToken), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toMatch(/Using stack berth-stack\/static:/);

    const shared = stackStoreOf(srv.dataDir);
    const names = (await buildahIn(shared, ["images", "--all", "--format", "{{.Name}}:{{.Tag}}"])).split("\n");
    expect(names.filter(Boolean).filter((n) => !n.startsWith("localhost/berth-stack/"))).toEqual([]);
    expect(fs.existsSync(appStoreDirOf(srv.dataDir, aId))).toBe(true);
    expect(fs.existsSync(appStoreDirOf(srv.dataDir, siteId))).toBe(true);
    // The stack-built image left the app's store once pushed (it is in the registry); no working container is left.
    expect((await localImages(srv.dataDir)).filter((i) => i.names.some((n) => n.includes(`/${site}:`)))).toEqual([]);
    expect(await localContainers(srv.dataDir)).toEqual([]);
  });

  /** A's image through the containers-storage transport, naming A's store by its path. */
  const inAStore = () =>
    `containers-storage:[overlay@${appStoreOf(srv.dataDir, aId).root}]localhost/berth-build/${A}:latest`;
  const variants: [string, () => string][] = [
    ["its full tag", () => thief(`localhost/berth-build/${A}:latest`)],
    ["its short name", () => thief(`berth-build/${A}:latest`)],
    ["its image id", () => thief(aImage.id)],
    ["its short image id", () => thief(aImage.id.slice(0, 12))],
    ["its digest", () => thief(`localhost/berth-build/${A}@${aImage.digest}`)],
    ["COPY --from=<tag>", () => thief(`localhost/berth-build/${A}:latest`, true)],
    ["COPY --from=<image id>", () => thief(aImage.id, true)],
    // Transports other than a registry make buildah open stores, archives or directories on the host.
    ["a containers-storage: reference to A's store", () => thief(inAStore())],
    ["COPY --from=containers-storage:<A's store>", () => thief(inAStore(), true)],
    [
      "RUN --mount from=containers-storage:<A's store>",
      () =>
        `FROM scratch\nCOPY busybox /bin/busybox\nRUN --mount=type=bind,from=${inAStore()},target=/m ["/bin/busybox","cat","/m/secret.txt"]\nCMD ["/bin/busybox","httpd","-f","-p","5000"]\n`,
    ],
    ["an ARG that holds a containers-storage: reference", () => `ARG BASE=${inAStore()}\n${thief("$BASE")}`],
  ];
  for (const [what, dockerfile] of variants) {
    it(`refuses another team's Dockerfile that names A's image by ${what}`, async () => {
      const d = await repo({ Dockerfile: dockerfile(), busybox: fs.readFileSync(BUSYBOX) });
      const push = await git(d, ["push", remoteUrl(srv.url, B, bobToken), "main"]);
      expect(push.code, push.out).not.toBe(0);
      expect(push.out).toContain("error: build failed");
      expect(push.out).not.toContain(MARKER);
      expect(await releasesOf(bob, B)).toEqual([]);
      // Nothing B built holds the file: no image of B exists at all (its builds failed).
      const bImages = (await localImages(srv.dataDir)).filter((i) => i.names.some((n) => n.includes(`/${B}:`)));
      expect(bImages).toEqual([]);
    });
  }

  it("refuses a base image's ONBUILD trigger that names A's store (the signature policy, past the Dockerfile check)", async () => {
    // A base image as one could publish on a registry, with a trigger the Dockerfile check cannot see: put straight
    // into B's store here (where B's builds look first), since this machine reaches no public registry.
    const bId = (await bob.req<any>("GET", `/api/v1/apps/${B}`)).body.id as string;
    const bStore = appStoreOf(srv.dataDir, bId);
    const ctr = (await buildahIn(bStore, ["from", "scratch"])).trim();
    try {
      await buildahIn(bStore, ["copy", ctr, BUSYBOX, "/bin/busybox"]);
      await buildahIn(bStore, ["config", "--onbuild", `COPY --from=${inAStore()} /secret.txt /stolen.txt`, ctr]);
      await buildahIn(bStore, ["commit", "--format", "docker", "--rm", ctr, "localhost/onbuild-base:latest"]);
    } catch (err) {
      await buildahIn(bStore, ["rm", ctr]).catch(() => undefined);
      throw err;
    }
    const d = await repo({
      Dockerfile: `FROM localhost/onbuild-base:latest\nCMD ["/bin/busybox","httpd","-f","-p","5000"]\n`,
    });
    const push = await git(d, ["push", remoteUrl(srv.url, B, bobToken), "main"]);
    expect(push.code, push.out).not.toBe(0);
    expect(push.out).toMatch(/rejected by policy|no stage or image found/);
    expect(push.out).not.toContain(MARKER);
    expect(await releasesOf(bob, B)).toEqual([]);
    await buildahIn(bStore, ["rmi", "localhost/onbuild-base:latest"]);
  });

  it("destroying the app removes its store; a new app with its name (another team) cannot name the old image", async () => {
    const destroy = await alice.req("DELETE", `/api/v1/apps/${A}`, undefined, { "x-confirm": A });
    expect([200, 204]).toContain(destroy.status);
    await until("A's builder store to be removed", () => !fs.existsSync(appStoreDirOf(srv.dataDir, aId)), 60_000);
    const left = (await localImages(srv.dataDir)).filter(
      (i) => i.names.some((n) => n.includes(`/${A}:`)) || i.id === aImage.id,
    );
    expect(left).toEqual([]);

    // Bob takes the freed name: the new app's store is new and empty, A's image is not in it.
    expect((await bob.req("POST", "/api/v1/apps", { name: A })).status).toBe(201);
    const d = await repo({
      Dockerfile: thief(`localhost/berth-build/${A}:latest`),
      busybox: fs.readFileSync(BUSYBOX),
    });
    const push = await git(d, ["push", remoteUrl(srv.url, A, bobToken), "main"]);
    expect(push.code, push.out).not.toBe(0);
    expect(push.out).not.toContain(MARKER);
    expect(await releasesOf(bob, A)).toEqual([]);
    expect(await localContainers(srv.dataDir)).toEqual([]);
  });
});
