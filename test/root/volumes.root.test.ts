// Persistent volumes with real everything (root tier): git push -> buildah -> registry -> scheduler -> a real agent
// process (runc, conmon, user namespaces, disk limits). A non-root (uid 1000) app writes into its volume; the file
// survives a redeploy (rolled out stop-then-start, said in the rollout output) and an agent kill -9; writes past the
// volume's size fail inside the container; another team sees 404; destroy is refused while mounted, then removes
// the filesystem from the node.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BUSYBOX_WEB_DOCKERFILE } from "../helpers/busybox-app.ts";
import { git, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { bootRootStack, type RootStack } from "../helpers/root-stack.ts";
import type { TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import type { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { isMountPoint } from "../../runtime-agent/runtime/mounts.ts";

const APP = "keeper";

let stack: RootStack;
let srv: TestServer;
let owner: ApiClient;
let token = "";
let repo = "";
let inspector: OciBackend;
const decisions: string[] = [];

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GET through the router with the app's Host header (60 s: /cgi-bin/fill writes 100 MiB); never rejects. */
const get = (urlPath: string) => stack.get(urlPath, 60_000);

const cgi = (body: string) => `#!/bin/sh\necho "Content-Type: text/plain"\necho ""\n${body}\n`;

/**
 * uid 1000 (no such user in the image: a plain numeric id), httpd after appending one line per start to the volume.
 * /cgi-bin/data prints the volume's lines and its owner; /cgi-bin/fill writes 100 MiB into the 64 MiB volume.
 */
const files: Record<string, string | Buffer> = {
  Dockerfile:
    BUSYBOX_WEB_DOCKERFILE.replace(/CMD .*\n$/, "") +
    'COPY start /start\nRUN ["/bin/chmod","755","/www/cgi-bin/data","/www/cgi-bin/fill","/start"]\nUSER 1000\nCMD ["/start"]\n',
  busybox: fs.readFileSync("/bin/busybox"),
  start: `#!/bin/sh\necho "start $BERTH_RELEASE $(hostname)" >> /data/starts || echo "cannot write /data" >&2\nexec httpd -f -p 5000 -h /www\n`,
  "www/cgi-bin/who": cgi("echo who"),
  "www/cgi-bin/data": cgi('echo "uid=$(id -u) owner=$(stat -c %u /data)"\ncat /data/starts'),
  "www/cgi-bin/fill": cgi(
    'dd if=/dev/zero of=/data/big bs=1048576 count=100 2>&1; echo "exit=$?"; echo "size=$(stat -c %s /data/big)"; rm -f /data/big',
  ),
};

const instances = async () =>
  (
    await owner.req<{ id: string; state: string; release: number; processType: string }[]>(
      "GET",
      `/api/v1/apps/${APP}/instances`,
    )
  ).body;

async function runningWeb(release: number) {
  return until(`a running web instance of v${release}`, async () => {
    const web = (await instances()).filter((i) => i.processType === "web");
    return web.length === 1 && web[0]?.state === "running" && web[0].release === release && web[0];
  });
}

async function startLines(): Promise<string[]> {
  const r = await until("data answers", async () => {
    const x = await get("/cgi-bin/data");
    return x.status === 200 && x;
  });
  return r.body.split("\n").filter((l) => l.startsWith("start "));
}

describeRoot("persistent volumes (scheduler, real agent, runc, user namespaces)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    stack = await bootRootStack(APP, files, { email: "keeper@example.com", node: "keeper-node" });
    ({ srv, owner, token, repo, inspector } = stack);
    srv.cp.services.scheduler.on("decision", (_app: string, text: string) => decisions.push(text));
  }, 300_000);

  afterAll(async () => {
    if (!stack) return;
    const problems: string[] = [];
    await owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 0 }] });
    await until("containers gone", async () => (await inspector.list()).length === 0, 60_000).catch((e: unknown) =>
      problems.push(String(e)),
    );
    await owner.req("DELETE", `/api/v1/apps/${APP}/volumes/data`).catch(() => undefined);
    problems.push(...(await stack.close()));
    expect(problems).toEqual([]);
  }, 180_000);

  it("a volume created before the first deploy is mounted, owned by the app's non-root user, and size-limited", async () => {
    const bad = await owner.req("POST", `/api/v1/apps/${APP}/volumes`, {
      name: "data",
      mountPath: "/proc/x",
      sizeMb: 64,
    });
    expect(bad.status).toBe(422);
    const created = await owner.req<{ name: string; node: string | null }>("POST", `/api/v1/apps/${APP}/volumes`, {
      name: "data",
      processType: "web",
      mountPath: "/data",
      sizeMb: 64,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: "data", node: null });

    const push = await git(repo, ["push", remoteUrl(srv.url, APP, token), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toContain("remote: -----> v1 is running");
    await runningWeb(1);
    const data = await get("/cgi-bin/data");
    expect(data.body).toContain("uid=1000 owner=1000");
    expect(await startLines()).toHaveLength(1);

    // Pinned to the node it was created on; the node holds it as a mounted filesystem of 64 MiB.
    const info = await owner.req<{ node: string; instances: string[]; sizeMb: number }>(
      "GET",
      `/api/v1/apps/${APP}/volumes/data`,
    );
    expect(info.body).toMatchObject({ node: "keeper-node", sizeMb: 64 });
    expect(info.body.instances).toHaveLength(1);
    const [vol] = await inspector.volumes.list();
    expect(vol).toMatchObject({ sizeBytes: 64 * 1024 * 1024, mounted: true });

    // 100 MiB into 64 MiB: dd fails inside the container with ENOSPC; the app keeps serving.
    const fill = await get("/cgi-bin/fill");
    expect(fill.status).toBe(200);
    expect(fill.body).toContain("No space left on device");
    expect(fill.body).not.toContain("exit=0");
    const size = Number(/size=(\d+)/.exec(fill.body)?.[1]);
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThan(64 * 1024 * 1024);
    expect((await get("/cgi-bin/who")).status).toBe(200);
  }, 600_000);

  it("the file survives a redeploy, rolled out stop-then-start", async () => {
    const before = decisions.length;
    expect((await owner.req("PATCH", `/api/v1/apps/${APP}/config`, { set: { GREETING: "again" } })).status).toBe(200);
    await until("v2 deployed", async () => {
      const rel = await owner.req<{ version: number; status: string }[]>("GET", `/api/v1/apps/${APP}/releases`);
      return rel.body.find((x) => x.version === 2)?.status === "deployed";
    });
    await runningWeb(2);
    const lines = await startLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^start v1 /);
    expect(lines[1]).toMatch(/^start v2 /);
    expect(decisions.slice(before).join("\n")).toMatch(/web mounts a volume: stopping keeper-web-\w+ before v2 starts/);
  }, 300_000);

  it("the file survives an agent kill -9 (and the container it keeps running); a later restart still sees it", async () => {
    const [web] = await instances();
    await stack.restartAgent("SIGKILL");
    expect((await startLines()).length).toBe(2);
    expect((await instances())[0]?.id).toBe(web?.id);
    // A restart after the agent came back: a new container mounts the same filesystem.
    expect((await owner.req("POST", `/api/v1/apps/${APP}/restart`, {})).status).toBe(202);
    await until("a new web instance", async () => {
      const list = await instances();
      return list.length === 1 && list[0]?.id !== web?.id && list[0]?.state === "running";
    });
    const lines = await startLines();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^start v2 /);
  }, 300_000);

  it("another team gets 404 for the app's volumes", async () => {
    const other = new ApiClient(srv.url);
    await other.signUp("stranger@example.com");
    for (const [method, p] of [
      ["GET", `/api/v1/apps/${APP}/volumes`],
      ["GET", `/api/v1/apps/${APP}/volumes/data`],
      ["DELETE", `/api/v1/apps/${APP}/volumes/data`],
    ] as const) {
      expect((await other.req(method, p)).status, `${method} ${p}`).toBe(404);
    }
    expect(
      (await other.req("POST", `/api/v1/apps/${APP}/volumes`, { name: "x", mountPath: "/x", sizeMb: 64 })).status,
    ).toBe(404);
    expect(await inspector.volumes.list()).toHaveLength(1);
  });

  it("destroy is refused while mounted, and the app cannot be destroyed with it; after scaling to 0 it goes", async () => {
    const refused = await owner.req<{ error: { message: string } }>("DELETE", `/api/v1/apps/${APP}/volumes/data`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("scale web to 0 first");
    expect((await owner.req("DELETE", `/api/v1/apps/${APP}`)).status).toBe(409);
    const [vol] = await inspector.volumes.list();
    expect(vol).toBeDefined();

    await owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 0 }] });
    await until("no instances", async () => (await instances()).length === 0 && (await inspector.list()).length === 0);
    await until(
      "volume destroyed",
      async () => (await owner.req("DELETE", `/api/v1/apps/${APP}/volumes/data`)).status === 204,
      30_000,
    );
    expect(await inspector.volumes.list()).toEqual([]);
    expect(await isMountPoint(path.join(inspector.volumeStore.root, vol?.id ?? "x", "data"))).toBe(false);
    expect((await owner.req("GET", `/api/v1/apps/${APP}/volumes`)).body).toEqual([]);
  }, 180_000);
});
