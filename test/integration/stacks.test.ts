// Platform stacks API and CLI: instance admin only, rebuild in the background, one at a time (409).
// The rebuild function is replaced here (debootstrap takes minutes and needs root); the real path runs in the root
// tier (test/root/stacks.root.test.ts).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import type { RebuildFn } from "../../server/builds/stacks/rebuild-job.ts";
import type { StackInfo } from "../../server/builds/stacks/index.ts";

let srv: TestServer;
let home: string;
let admin: ApiClient;
let member: ApiClient;
let adminToken = "";
let memberToken = "";

const fakeInfo = (name: "node" | "static"): StackInfo =>
  ({ name, image: `berth-stack/${name}:0123456789abcdef` }) as unknown as StackInfo;

/** A rebuild that logs a line and then waits until released (or fails when told to). */
function gatedRebuild(): { fn: RebuildFn; release: (fail?: string) => void; calls: number } {
  let open: (fail?: string) => void = () => undefined;
  const gate = new Promise<string | undefined>((resolve) => (open = resolve));
  const ctl = {
    calls: 0,
    release: (fail?: string) => open(fail),
    fn: (async (storage, opts) => {
      ctl.calls++;
      expect(storage.root).toBe(path.join(srv.dataDir, "builder", "storage"));
      opts.onLine?.("building stack node (recipe 0123456789abcdef); this happens once");
      const fail = await gate;
      if (fail) throw new Error(fail);
      opts.onLine?.("stack berth-stack/node:0123456789abcdef built in 1 s");
      return [fakeInfo("node"), fakeInfo("static")];
    }) as RebuildFn,
  };
  return ctl;
}

async function waitFor(pred: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not reached");
}

beforeAll(async () => {
  srv = await startTestServer();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-stacks-"));
  admin = new ApiClient(srv.url);
  expect((await admin.signUp("stacks-admin@example.com")).body.user.isAdmin).toBe(true);
  adminToken = (await admin.tokenClient()).token;
  member = new ApiClient(srv.url);
  await member.signUp("stacks-member@example.com");
  memberToken = (await member.tokenClient()).token;
});
afterAll(async () => {
  await srv.cp.services.stacks.settled();
  fs.rmSync(home, { recursive: true, force: true });
  await srv.close();
});

describe("stacks API", () => {
  it("refuses everyone but the instance admin, and starts nothing for them", async () => {
    const ctl = gatedRebuild();
    srv.cp.services.stacks.rebuild = ctl.fn;
    for (const c of [member, await member.tokenClient("m2")]) {
      expect((await c.req("GET", "/api/v1/stacks")).status).toBe(403);
      const r = await c.req<any>("POST", "/api/v1/stacks/rebuild");
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe("forbidden");
      expect((await c.req("GET", "/api/v1/stacks/rebuild")).status).toBe(403);
    }
    expect((await new ApiClient(srv.url).req("POST", "/api/v1/stacks/rebuild")).status).toBe(401);
    expect(ctl.calls).toBe(0);
    expect((await admin.req("GET", "/api/v1/stacks/rebuild")).status).toBe(404);
  });

  it("lists both stacks for the admin (nothing built in a fresh data dir)", async () => {
    const r = await admin.req<any>("GET", "/api/v1/stacks");
    expect(r.status).toBe(200);
    expect(r.body.stacks.map((s: { name: string }) => s.name)).toEqual(["node", "static"]);
    const node = r.body.stacks[0];
    expect(node).toMatchObject({ built: false, builtAt: null, id: null });
    expect(node.image).toMatch(/^berth-stack\/node:[0-9a-f]{16}$/);
  });

  it("runs a rebuild in the background (202), refuses a second one while it runs (409), reports the outcome", async () => {
    const ctl = gatedRebuild();
    srv.cp.services.stacks.rebuild = ctl.fn;
    const start = await admin.req<any>("POST", "/api/v1/stacks/rebuild");
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    expect(start.body).toMatchObject({ status: "running", startedBy: "stacks-admin@example.com", finishedAt: null });

    const again = await admin.req<any>("POST", "/api/v1/stacks/rebuild");
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain("already running");
    expect(ctl.calls).toBe(1);

    const running = await admin.req<any>("GET", "/api/v1/stacks/rebuild");
    expect(running.body.status).toBe("running");
    expect(running.body.output).toEqual(["building stack node (recipe 0123456789abcdef); this happens once"]);
    // `since` skips lines already seen.
    expect((await admin.req<any>("GET", "/api/v1/stacks/rebuild?since=1")).body).toMatchObject({
      outputStart: 1,
      output: [],
    });
    expect((await admin.req<any>("GET", "/api/v1/stacks/rebuild?since=-1")).status).toBe(422);

    ctl.release();
    await waitFor(async () => (await admin.req<any>("GET", "/api/v1/stacks/rebuild")).body.status !== "running");
    const done = await admin.req<any>("GET", "/api/v1/stacks/rebuild");
    expect(done.body).toMatchObject({
      status: "succeeded",
      error: null,
      stacks: ["berth-stack/node:0123456789abcdef", "berth-stack/static:0123456789abcdef"],
    });
    expect(done.body.finishedAt).toBeTruthy();
    expect((await admin.req<any>("GET", "/api/v1/stacks")).body.rebuild.id).toBe(start.body.id);
  });

  it("reports a failed rebuild and accepts the next one", async () => {
    const ctl = gatedRebuild();
    srv.cp.services.stacks.rebuild = ctl.fn;
    expect((await admin.req("POST", "/api/v1/stacks/rebuild")).status).toBe(202);
    ctl.release("debootstrap exited with code 1");
    await srv.cp.services.stacks.settled();
    const r = await admin.req<any>("GET", "/api/v1/stacks/rebuild");
    expect(r.body).toMatchObject({ status: "failed", error: "debootstrap exited with code 1" });
    expect(r.body.output.at(-1)).toBe("error: debootstrap exited with code 1");

    const next = gatedRebuild();
    srv.cp.services.stacks.rebuild = next.fn;
    expect((await admin.req("POST", "/api/v1/stacks/rebuild")).status).toBe(202);
    next.release();
    await srv.cp.services.stacks.settled();
  });
});

describe("berth stacks, stacks:rebuild", () => {
  it("lists the stacks", async () => {
    const r = await runBerth(["stacks"], { url: srv.url, token: adminToken, home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+IMAGE\s+BUILT/);
    expect(r.stdout).toMatch(/node\s+berth-stack\/node:[0-9a-f]{16}\s+not yet/);
    expect(r.stdout).toContain("Last rebuild: succeeded");
    const json = await runBerth(["stacks", "--json"], { url: srv.url, token: adminToken, home });
    expect(JSON.parse(json.stdout).stacks).toHaveLength(2);
  });

  it("follows a rebuild to its end; refuses a member and a second rebuild", async () => {
    const ctl = gatedRebuild();
    srv.cp.services.stacks.rebuild = ctl.fn;
    const run = runBerth(["stacks:rebuild"], { url: srv.url, token: adminToken, home });
    await waitFor(async () => ctl.calls === 1);
    const second = await runBerth(["stacks:rebuild"], { url: srv.url, token: adminToken, home });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("already running");
    const denied = await runBerth(["stacks:rebuild"], { url: srv.url, token: memberToken, home });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("only the instance admin");
    ctl.release();
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("building stack node");
    expect(r.stdout).toContain("built in 1 s");
    expect(r.stdout).toContain("Rebuilt berth-stack/node:0123456789abcdef, berth-stack/static:0123456789abcdef");
    // Each line once, although the CLI polled several times.
    expect(r.stdout.match(/building stack node/g)).toHaveLength(1);
  });

  it("exits 1 with the error when the rebuild fails", async () => {
    const ctl = gatedRebuild();
    srv.cp.services.stacks.rebuild = ctl.fn;
    const run = runBerth(["stacks:rebuild"], { url: srv.url, token: adminToken, home });
    await waitFor(async () => ctl.calls === 1);
    ctl.release("no Debian mirror found");
    const r = await run;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("stack rebuild failed: no Debian mirror found");
  });
});
