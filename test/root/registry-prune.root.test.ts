// Registry pruning: only the newest BERTH_KEEP_RELEASES release images stay in the registry.
import fs from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";

let srv: TestServer;
let dir = "";

describeRoot("registry keeps the last N release images", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    srv = await startTestServer({ BERTH_KEEP_RELEASES: "2" }, { registry: true });
  });
  afterAll(async () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await srv?.close();
  });

  it("deletes manifests of releases beyond the newest two", async () => {
    const owner = new ApiClient(srv.url);
    await owner.signUp("prune@example.com");
    const token = (await owner.tokenClient()).token;
    expect((await owner.req("POST", "/api/v1/apps", { name: "prune-me" })).status).toBe(201);
    dir = await makeRepo({
      Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version /version\nCMD ["/bin/busybox","httpd","-f"]\n',
      busybox: fs.readFileSync("/bin/busybox"),
      version: "1",
    });
    const url = remoteUrl(srv.url, "prune-me", token);
    for (let v = 1; v <= 3; v++) {
      if (v > 1) {
        fs.writeFileSync(`${dir}/version`, String(v));
        await git(dir, ["commit", "-qam", `v${v}`]);
      }
      const push = await git(dir, ["push", url, "main"]);
      expect(push.code, push.out).toBe(0);
    }
    const releases = (await owner.req<any[]>("GET", "/api/v1/apps/prune-me/releases")).body;
    expect(releases.map((r) => r.version)).toEqual([3, 2, 1]);
    const reg = srv.cp.registry();
    const headers = {
      authorization: `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString("base64")}`,
      accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    };
    const status = async (image: string) =>
      (await fetch(`http://${reg.host}/v2/prune-me/manifests/${image.split("@")[1]}`, { headers })).status;
    expect(await status(releases[0].image)).toBe(200);
    expect(await status(releases[1].image)).toBe(200);
    expect(await status(releases[2].image)).toBe(404);
  });
});
