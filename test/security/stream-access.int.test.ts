// Issue 12, finding 4: live streams must not outlive access. Against the real control plane (database file, stream
// WebSocket, scheduler, an in-process agent on the FakeBackend, git over HTTP, the `berth` CLI):
// - a member removed from the team stops receiving the app's logs, events and stats at once (error frame, nothing
//   after it), and so do subscribers who lose the app when it moves to another team;
// - a socket authenticated by a revoked token or an ended session gets an error frame and is closed (4401);
// - a subscriber of a destroyed app never sees anything of a new app another team creates under the same name,
//   even when the destroy happened where this process did not see it (subscriptions are bound to the app's id);
// - the periodic re-check ends what changed behind the server's back (e.g. in another control-plane process).
// "Received nothing" is always checked after the same message reached a legitimate subscriber and after a
// ping/pong barrier on the checked socket, never after a sleep.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { startFakeNode, type FakeNode } from "../helpers/fake-node.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { TestStream, type StreamFrame } from "../helpers/stream-client.ts";
import { until } from "../helpers/until.ts";
import { appendAppLog } from "../../server/logs/ingest.ts";
import { kickScheduler } from "../../server/scheduler/kick.ts";

const TEAM = "sec-stream-team";
const APP = "sec-stream-app";
const BIN = path.join(fileURLToPath(new URL("../..", import.meta.url)), "bin/berth.mjs");

let srv: TestServer;
let owner: ApiClient;
let ownerToken = "";
let node: FakeNode;
const streams: TestStream[] = [];
const dirs: string[] = [];
let userSeq = 0;

const db = () => srv.cp.services.db;

/** Opens a stream with a bearer token. */
async function tokenStream(token: string): Promise<TestStream> {
  const s = await TestStream.open(srv.url, { authorization: `Bearer ${token}` });
  streams.push(s);
  return s;
}

/** Opens a stream with a session cookie from our own origin (like the dashboard). */
async function cookieStream(c: ApiClient): Promise<TestStream> {
  const s = await TestStream.open(srv.url, { cookie: c.cookie, origin: srv.url });
  streams.push(s);
  return s;
}

/** A new account added to `team` with `role`; returns its session client, a token, and its email. */
async function newMember(team: string, role: string) {
  const email = `sec-stream-${++userSeq}-${role}@example.com`;
  const session = new ApiClient(srv.url);
  expect((await session.signUp(email)).status).toBe(201);
  expect((await owner.req("POST", `/api/v1/teams/${team}/members`, { email, role })).status).toBe(201);
  const token = (await session.tokenClient()).token;
  return { email, session, token };
}

const errorOf = (app: string, channel: string) => (f: StreamFrame) =>
  f.type === "error" && f.app === app && f.channel === channel;

/** Publishes one log line through the real ingest path and waits until `control` received it. */
async function publishLog(control: TestStream, app: string, text: string): Promise<void> {
  const from = control.frames.length;
  await appendAppLog(srv.cp.services, app, [{ source: "berth", text }]);
  await control.waitFor(
    `log "${text}" at the control subscriber`,
    (f) => f.type === "message" && f.app === app && f.channel === "logs" && JSON.stringify(f.data).includes(text),
    from,
  );
}

beforeAll(async () => {
  // The scheduler sends desired states only while the registry runs (nodes pull through it).
  srv = await startTestServer({ BERTH_SCHEDULER: "on" }, { registry: true });
  owner = new ApiClient(srv.url);
  expect((await owner.signUp("sec-stream-owner@example.com")).body.user.isAdmin).toBe(true);
  ownerToken = (await owner.tokenClient("owner")).token;
  expect((await owner.req("POST", "/api/v1/teams", { name: TEAM })).status).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: APP, team: TEAM })).status).toBe(201);
  // A running instance on an agent: the scheduler publishes events, the agent's samples become stats.
  // The fake node publishes on loopback, which the control plane routes only for a local-kind join token.
  const joinToken = await localJoinToken(srv, "sec-stream");
  node = await startFakeNode(srv, { name: "sec-stream-node", joinToken, statsIntervalMs: 300 });
  const app = await db().app.findUniqueOrThrow({ where: { name: APP } });
  await db().release.create({
    data: {
      appId: app.id,
      version: 1,
      imageRef: APP,
      imageDigest: `sha256:${"a".repeat(64)}`,
      processTypes: '{"web":""}',
    },
  });
  kickScheduler(srv.cp.services);
  await until(
    "the app's instance running",
    async () => {
      const rows = await db().instance.findMany({ where: { appId: app.id } });
      return rows.some((r) => r.state === "running");
    },
    30_000,
    100,
  );
});

afterAll(async () => {
  for (const s of streams) s.close();
  await node?.stop();
  await srv?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("membership changes end subscriptions at once", () => {
  it("a viewer removed from the team gets an error frame per channel and no logs, events or stats after it", async () => {
    const viewer = await newMember(TEAM, "viewer");
    const victim = await tokenStream(viewer.token);
    const control = await tokenStream(ownerToken);
    for (const channel of ["logs", "events", "stats"]) {
      await victim.subscribe(APP, channel);
      await control.subscribe(APP, channel);
    }
    // Live before the change: the viewer gets a log line and the agent's stats.
    await publishLog(control, APP, "before removal");
    await victim.waitFor("a log line before removal", (f) => f.type === "message" && f.channel === "logs");
    await victim.waitFor("stats before removal", (f) => f.type === "message" && f.channel === "stats");

    expect((await owner.req("DELETE", `/api/v1/teams/${TEAM}/members/${viewer.email}`)).status).toBe(204);
    const ended = victim.frames.length;
    for (const channel of ["logs", "events", "stats"]) {
      const err = await victim.waitFor(`error frame on ${channel}`, errorOf(APP, channel), 0, 5_000);
      expect(err).toMatchObject({ code: "not_found" });
    }
    const firstError = victim.frames.findIndex(errorOf(APP, "logs"));
    expect(firstError).toBeGreaterThanOrEqual(0);

    // Publish on every channel after the removal; the owner gets each, the removed viewer none.
    await publishLog(control, APP, "after removal");
    const eventsFrom = control.frames.length;
    const scale = await owner.req("PATCH", `/api/v1/apps/${APP}/formation`, {
      updates: [{ type: "web", quantity: 2 }],
    });
    expect(scale.status).toBe(200);
    await control.waitFor(
      "an event after removal",
      (f) => f.type === "message" && f.channel === "events",
      eventsFrom,
      20_000,
    );
    const statsFrom = control.frames.length;
    await control.waitFor("stats after removal", (f) => f.type === "message" && f.channel === "stats", statsFrom);
    await victim.barrier();
    expect(victim.messagesFrom(firstError)).toEqual([]);
    expect(victim.messagesFrom(ended)).toEqual([]);
    expect(victim.closeCode).toBeUndefined(); // only the subscriptions ended; the socket stays usable

    // Subscribing again is refused like for any stranger.
    victim.ws.send(JSON.stringify({ type: "subscribe", app: APP, channel: "logs" }));
    const from = victim.frames.length;
    await victim.barrier();
    expect(victim.frames.slice(from).find((f) => f.app === APP)).toMatchObject({ type: "error", code: "not_found" });
  }, 60_000);

  it("a member demoted to viewer keeps what viewers may read (every channel needs app:read), removal then ends it", async () => {
    // docs/permissions.md: logs, events, stats and builds all need app:read (viewer). A demotion that stays at or
    // above viewer must not end anything; a role below viewer does not exist, so removal is the way to lose a channel.
    const member = await newMember(TEAM, "member");
    const s = await tokenStream(member.token);
    const control = await tokenStream(ownerToken);
    await s.subscribe(APP, "logs");
    await s.subscribe(APP, "builds");
    await control.subscribe(APP, "logs");
    expect((await owner.req("PATCH", `/api/v1/teams/${TEAM}/members/${member.email}`, { role: "viewer" })).status).toBe(
      200,
    );
    const from = s.frames.length;
    await publishLog(control, APP, "after demotion");
    await s.waitFor(
      "the log line after demotion",
      (f) => f.type === "message" && JSON.stringify(f.data).includes("after demotion"),
      from,
    );
    await s.barrier();
    expect(s.frames.filter((f) => f.type === "error")).toEqual([]);

    expect((await owner.req("DELETE", `/api/v1/teams/${TEAM}/members/${member.email}`)).status).toBe(204);
    await s.waitFor("error frame on logs", errorOf(APP, "logs"), 0, 5_000);
    await s.waitFor("error frame on builds", errorOf(APP, "builds"), 0, 5_000);
    const after = s.frames.length;
    await publishLog(control, APP, "after removal of the demoted member");
    await s.barrier();
    expect(s.messagesFrom(after)).toEqual([]);
  }, 60_000);

  it("moving the app to another team ends the subscriptions of those who are not in that team", async () => {
    const moving = "sec-stream-moving";
    expect((await owner.req("POST", "/api/v1/apps", { name: moving, team: TEAM })).status).toBe(201);
    expect((await owner.req("POST", "/api/v1/teams", { name: "sec-stream-other" })).status).toBe(201);
    const viewer = await newMember(TEAM, "viewer");
    const s = await tokenStream(viewer.token);
    const control = await tokenStream(ownerToken); // the owner is in both teams: keeps the subscription
    await s.subscribe(moving, "logs");
    await control.subscribe(moving, "logs");
    expect((await owner.req("PATCH", `/api/v1/apps/${moving}`, { team: "sec-stream-other" })).status).toBe(200);
    await s.waitFor("error frame after the transfer", errorOf(moving, "logs"), 0, 5_000);
    const from = s.frames.length;
    await publishLog(control, moving, "after the transfer");
    await s.barrier();
    expect(s.messagesFrom(from)).toEqual([]);
    expect(control.frames.filter((f) => f.type === "error")).toEqual([]);
  }, 60_000);
});

describe("ended credentials close their sockets", () => {
  it("a revoked token: error frame, close 4401, no reconnect; the user's other sockets stay", async () => {
    const user = await newMember(TEAM, "member");
    const created = await user.session.req("POST", "/api/v1/tokens", { name: "to-revoke" });
    expect(created.status).toBe(201);
    const revoked = await tokenStream(created.body.token as string);
    const other = await cookieStream(user.session);
    await revoked.subscribe(APP, "logs");
    await other.subscribe(APP, "logs");

    expect((await user.session.req("DELETE", `/api/v1/tokens/${created.body.id as string}`)).status).toBe(200);
    const err = await revoked.waitFor(
      "unauthorized frame",
      (f) => f.type === "error" && f.code === "unauthorized",
      0,
      5_000,
    );
    expect(err.message).toMatch(/revoked/);
    expect(await revoked.waitClosed(5_000)).toBe(4401);
    const errorAt = revoked.frames.indexOf(err);
    expect(revoked.messagesFrom(errorAt)).toEqual([]);

    await publishLog(other, APP, "after the token was revoked");
    expect(other.closeCode).toBeUndefined();
    await expect(TestStream.open(srv.url, { authorization: `Bearer ${created.body.token as string}` })).rejects.toThrow(
      "HTTP 401",
    );
  }, 60_000);

  it("a session that signed out: its cookie socket gets an error frame and closes 4401; another session stays", async () => {
    const user = await newMember(TEAM, "viewer");
    const second = new ApiClient(srv.url);
    expect((await second.login(user.email)).status).toBe(200);
    const ending = await cookieStream(second);
    const staying = await cookieStream(user.session);
    await ending.subscribe(APP, "logs");
    await staying.subscribe(APP, "logs");

    expect((await second.req("POST", "/api/v1/auth/logout")).status).toBe(204);
    await ending.waitFor("unauthorized frame", (f) => f.type === "error" && f.code === "unauthorized", 0, 5_000);
    expect(await ending.waitClosed(5_000)).toBe(4401);
    await publishLog(staying, APP, "after sign-out of the other session");
    expect(ending.messagesFrom(0).some((f) => JSON.stringify(f.data).includes("after sign-out"))).toBe(false);
    expect(staying.closeCode).toBeUndefined();
  }, 60_000);
});

describe("a destroyed app's subscribers see nothing of a new app with the same name", () => {
  async function pushUnbuildable(app: string, token: string): Promise<void> {
    const d = await makeRepo({ "README.md": "no Dockerfile here\n" });
    dirs.push(d);
    const r = await git(d, ["push", remoteUrl(srv.url, app, token), "main"]);
    // No buildable source: the build starts, prints its steps, fails, and the push is rejected.
    expect(r.out).toContain(`Building ${app}`);
    expect(r.code).not.toBe(0);
  }

  /** Team B's user re-creates `name` and produces build output and logs, watched by their own subscriber. */
  async function otherTeamReuses(name: string) {
    const bob = new ApiClient(srv.url);
    expect((await bob.signUp(`sec-stream-bob-${++userSeq}@example.com`)).status).toBe(201);
    const bobToken = (await bob.tokenClient()).token;
    expect((await bob.req("POST", "/api/v1/apps", { name })).status).toBe(201);
    const control = await tokenStream(bobToken);
    await control.subscribe(name, "builds");
    await control.subscribe(name, "logs");
    const from = control.frames.length;
    await pushUnbuildable(name, bobToken);
    await control.waitFor(
      "bob's build output",
      (f) => f.type === "message" && f.channel === "builds" && JSON.stringify(f.data).includes("build failed"),
      from,
    );
    await publishLog(control, name, "bob's private log line");
  }

  it("destroyed through the API: error frames at once, then nothing of team B's app", async () => {
    const name = "sec-stream-reborn";
    const alice = new ApiClient(srv.url);
    expect((await alice.signUp(`sec-stream-alice-${++userSeq}@example.com`)).status).toBe(201);
    const aliceToken = (await alice.tokenClient()).token;
    expect((await alice.req("POST", "/api/v1/apps", { name })).status).toBe(201);
    const s = await tokenStream(aliceToken);
    for (const channel of ["builds", "logs", "events"]) await s.subscribe(name, channel);

    expect((await alice.req("DELETE", `/api/v1/apps/${name}`)).status).toBe(204);
    await otherTeamReuses(name);
    await s.barrier();
    expect(s.messagesFrom(0)).toEqual([]);
    for (const channel of ["builds", "logs", "events"]) {
      expect(s.frames.find(errorOf(name, channel)), channel).toMatchObject({ code: "not_found" });
    }
  }, 90_000);

  it("destroyed behind this process's back: the subscription is bound to the old app's id, and the re-check ends it", async () => {
    const name = "sec-stream-reborn2";
    const alice = new ApiClient(srv.url);
    expect((await alice.signUp(`sec-stream-alice-${++userSeq}@example.com`)).status).toBe(201);
    const aliceToken = (await alice.tokenClient()).token;
    expect((await alice.req("POST", "/api/v1/apps", { name })).status).toBe(201);
    const s = await tokenStream(aliceToken);
    await s.subscribe(name, "builds");
    await s.subscribe(name, "logs");

    // As another control-plane process would: the row goes, this process is not told.
    await db().app.delete({ where: { name } });
    await otherTeamReuses(name);
    await s.barrier();
    expect(s.messagesFrom(0)).toEqual([]);

    await srv.cp.streams.revalidate();
    await s.waitFor("error frame from the re-check", errorOf(name, "logs"), 0, 5_000);
    await s.waitFor("error frame from the re-check", errorOf(name, "builds"), 0, 5_000);
  }, 90_000);
});

describe("the periodic re-check catches changes made behind the server's back", () => {
  it("membership deleted and token revoked directly in the database", async () => {
    const viewer = await newMember(TEAM, "viewer");
    const s = await tokenStream(viewer.token);
    await s.subscribe(APP, "logs");
    const user = await db().user.findUniqueOrThrow({ where: { email: viewer.email } });
    const team = await db().team.findUniqueOrThrow({ where: { name: TEAM } });
    await db().membership.delete({ where: { teamId_userId: { teamId: team.id, userId: user.id } } });
    await srv.cp.streams.revalidate();
    await s.waitFor("error frame from the re-check", errorOf(APP, "logs"), 0, 5_000);
    expect(s.closeCode).toBeUndefined();

    await db().apiToken.updateMany({ where: { userId: user.id }, data: { revokedAt: new Date() } });
    await srv.cp.streams.revalidate();
    await s.waitFor("unauthorized frame", (f) => f.type === "error" && f.code === "unauthorized", 0, 5_000);
    expect(await s.waitClosed(5_000)).toBe(4401);
  }, 60_000);
});

describe("clients stop when their subscription ends", () => {
  /** Runs `berth logs -f` with `token` until it follows a live line, then `cut()`; resolves to exit code and stderr. */
  async function followThenCut(
    token: string,
    cut: () => Promise<void>,
  ): Promise<{ code: number | null | "running"; err: string }> {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-sec-cli-"));
    dirs.push(home);
    const child = spawn(process.execPath, [BIN, "logs", "-a", APP, "-n", "1", "-f"], {
      env: {
        ...process.env,
        BERTH_URL: srv.url,
        BERTH_TOKEN: token,
        XDG_CONFIG_HOME: path.join(home, "config"),
        HOME: home,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const control = await tokenStream(ownerToken);
      await control.subscribe(APP, "logs");
      // Following: a live line reaches the CLI.
      await until(
        "the CLI follows",
        async () => {
          await publishLog(control, APP, "cli live line");
          return out.includes("cli live line");
        },
        20_000,
        300,
      );
      await cut();
      const code = await Promise.race([exited, new Promise<"running">((r) => setTimeout(() => r("running"), 10_000))]);
      return { code, err };
    } finally {
      child.kill("SIGTERM");
    }
  }

  it("`berth logs -f` prints why and exits non-zero when the user is removed from the team", async () => {
    const viewer = await newMember(TEAM, "viewer");
    const r = await followThenCut(viewer.token, async () => {
      expect((await owner.req("DELETE", `/api/v1/teams/${TEAM}/members/${viewer.email}`)).status).toBe(204);
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot follow the logs of sec-stream-app: .*not found/);
  }, 60_000);

  it("`berth logs -f` prints why and exits non-zero when its token is revoked", async () => {
    const viewer = await newMember(TEAM, "viewer");
    const id = (await viewer.session.req<{ id: string; prefix: string }[]>("GET", "/api/v1/tokens")).body.find((t) =>
      viewer.token.startsWith(t.prefix),
    )?.id;
    expect(id).toBeTruthy();
    const r = await followThenCut(viewer.token, async () => {
      expect((await viewer.session.req("DELETE", `/api/v1/tokens/${id as string}`)).status).toBe(200);
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/revoked/);
  }, 60_000);
});
