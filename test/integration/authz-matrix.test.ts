// The authorization matrix: EVERY /api/v1 route in the OpenAPI document is called as anonymous, as a user of
// another team, and as viewer/member/admin/owner of team `acme`, with a session cookie and with an API token.
// A route missing from TABLE fails the coverage test, so new routes must be added here with their expectations.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient, type Res } from "../helpers/client.ts";
import { createSession } from "../../server/auth/sessions.ts";

const ROLES = ["viewer", "member", "admin", "owner"] as const;
type Role = (typeof ROLES)[number];
type Principal = Role | "outsider";
type Caller = Principal | "anonymous";
type Mode = "session" | "token";
const CALLERS: Caller[] = ["anonymous", "outsider", "viewer", "member", "admin", "owner"];

/** Expected status per caller, in CALLERS order: anonymous, outsider, viewer, member, admin, owner. */
function s(
  anonymous: number,
  outsider: number,
  viewer: number,
  member: number,
  admin: number,
  owner: number,
): Record<Caller, number> {
  return { anonymous, outsider, viewer, member, admin, owner };
}

interface Call {
  path: string;
  body?: unknown;
  /** Send as this client instead of the caller's (e.g. a throwaway session for sign-out). */
  client?: ApiClient;
  /** Anything verify() needs to know about what prepare() set up. */
  ref?: string;
}

interface Row {
  expect: Record<Caller, number>;
  /** Modes to run in (default both). */
  modes?: Mode[];
  /** Creates whatever the call needs (fresh resources for destructive calls) and returns the request. */
  prepare(who: Caller, mode: Mode): Promise<Call>;
  /** Checks the effect: changed when the call was allowed, untouched when it was refused. */
  verify?(who: Caller, call: Call, res: Res<any>): Promise<void>;
}

let srv: TestServer;
const sessions = {} as Record<Principal | "host" | "sam", ApiClient>;
const tokens = {} as Record<Principal, ApiClient>;
const emails = {} as Record<Principal | "host" | "sam", string>;
const userIds = {} as Record<Principal, string>;
let outsiderTeam = "";
let instanceAdmin: ApiClient;
let seq = 0;
const fresh = (prefix: string) => `${prefix}-${++seq}`;
const isRole = (who: Caller): who is Role => (ROLES as readonly string[]).includes(who);
const rank = (who: Caller) => (isRole(who) ? ROLES.indexOf(who) : -1);
const allowed = (res: Res, okStatus: number) => res.status === okStatus;

function clone(c: ApiClient, extra: Partial<Pick<ApiClient, "cookie" | "csrf" | "token">> = {}): ApiClient {
  return Object.assign(new ApiClient(srv.url), { cookie: c.cookie, csrf: c.csrf, token: c.token }, extra);
}

function clientFor(who: Caller, mode: Mode): ApiClient {
  if (who === "anonymous") return new ApiClient(srv.url);
  return clone(mode === "session" ? sessions[who] : tokens[who]);
}

/** The owner's session: used for all set-up and checks. */
const owner = () => sessions.owner;

async function must(res: Promise<Res<any>>, status: number, what: string): Promise<Res<any>> {
  const r = await res;
  if (r.status !== status) throw new Error(`set-up step "${what}" answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r;
}

/** A fresh app in acme (for destructive calls). */
async function freshApp(): Promise<string> {
  const name = fresh("app");
  await must(owner().req("POST", "/api/v1/apps", { name, team: "acme" }), 201, "create app");
  return name;
}

/** Puts `sam` into acme as a viewer (whatever happened to him before). */
async function resetSam(): Promise<void> {
  const r = await owner().req("PATCH", `/api/v1/teams/acme/members/${emails.sam}`, { role: "viewer" });
  if (r.status === 404)
    await must(
      owner().req("POST", "/api/v1/teams/acme/members", { email: emails.sam, role: "viewer" }),
      201,
      "add sam",
    );
  else if (r.status !== 200) throw new Error(`reset sam: ${r.status}`);
}

async function samRole(): Promise<string | undefined> {
  const r = await must(owner().req("GET", "/api/v1/teams/acme/members"), 200, "list members");
  return r.body.find((m: { email: string }) => m.email === emails.sam)?.role;
}

/** Whether an app exists (seen by the owner, who can see all of acme). */
async function appExists(name: string): Promise<boolean> {
  return (await owner().req("GET", `/api/v1/apps/${name}`)).status === 200;
}

const db = () => srv.cp.services.db;

/** A fresh app in acme with a PostgreSQL add-on (never available here) and one completed backup with its file. */
async function seedBackup(): Promise<{ app: string; addon: string; id: string }> {
  const { backupFile, ensureBackupDir, newBackupId } = await import("../../server/addons/backups/store.ts");
  const { default: fsp } = await import("node:fs/promises");
  const app = await freshApp();
  const r = await must(owner().req("POST", `/api/v1/apps/${app}/addons`, { kind: "postgres" }), 202, "addon");
  const addon = await db().addon.findUniqueOrThrow({ where: { name: r.body.name as string }, include: { app: true } });
  const id = newBackupId();
  await db().addonBackup.create({
    data: { id, addonId: addon.id, origin: "manual", state: "completed", sizeBytes: 5n, finishedAt: new Date() },
  });
  const dataDir = srv.cp.services.config.dataDir;
  await ensureBackupDir(dataDir, addon.app.teamId, addon.name);
  await fsp.writeFile(backupFile(dataDir, addon.app.teamId, addon.name, "postgres", id), "PGDMP", { mode: 0o600 });
  return { app, addon: addon.name, id };
}

/** A fresh app in acme with a volume (never placed here: no node) and one completed backup with its file. */
async function seedVolumeBackup(): Promise<{ app: string; id: string }> {
  const { ensureVolumeBackupDir, newVolumeBackupId, volumeBackupFile } =
    await import("../../server/volumes/backup-store.ts");
  const { default: fsp } = await import("node:fs/promises");
  const app = await freshApp();
  await must(
    owner().req("POST", `/api/v1/apps/${app}/volumes`, { name: "data", mountPath: "/data", sizeMb: 64 }),
    201,
    "volume",
  );
  const v = await db().volume.findFirstOrThrow({ where: { name: "data", app: { name: app } }, include: { app: true } });
  const id = newVolumeBackupId();
  await db().volumeBackup.create({
    data: { id, volumeId: v.id, state: "completed", sizeBytes: 5n, finishedAt: new Date() },
  });
  const dataDir = srv.cp.services.config.dataDir;
  await ensureVolumeBackupDir(dataDir, v.app.teamId, v.id);
  await fsp.writeFile(volumeBackupFile(dataDir, v.app.teamId, v.id, id), "tar..", { mode: 0o600 });
  return { app, id };
}

const TABLE: Record<string, Row> = {
  // ---- Public ----
  // Sign-up and sign-in hash a password per call and ignore the caller's credentials: once (with cookies) is enough.
  "POST /api/v1/auth/signup": {
    expect: s(201, 201, 201, 201, 201, 201),
    modes: ["session"],
    prepare: async () => ({
      path: "/api/v1/auth/signup",
      body: { email: `${fresh("signup")}@example.com`, password: "correct-horse-battery" },
    }),
  },
  "POST /api/v1/auth/login": {
    expect: s(200, 200, 200, 200, 200, 200),
    modes: ["session"],
    prepare: async (who) => ({
      path: "/api/v1/auth/login",
      body: { email: emails[who === "anonymous" ? "owner" : who], password: "correct-horse-battery" },
    }),
  },
  "POST /api/v1/auth/logout": {
    expect: s(204, 204, 204, 204, 204, 204),
    prepare: async (who, mode) => {
      // Sign out a throwaway session of the caller, so the caller's own session survives the matrix.
      if (who === "anonymous" || mode === "token") return { path: "/api/v1/auth/logout" };
      const { token, session } = await createSession(db(), userIds[who], "127.0.0.1", "matrix");
      return {
        path: "/api/v1/auth/logout",
        client: Object.assign(new ApiClient(srv.url), { cookie: `berth_session=${token}`, csrf: session.csrfToken }),
        ref: session.id,
      };
    },
    verify: async (_who, call) => {
      if (call.ref) expect(await db().session.findUnique({ where: { id: call.ref } })).toBeNull();
    },
  },
  "POST /api/v1/invitations/lookup": {
    expect: s(200, 200, 200, 200, 200, 200),
    prepare: async () => {
      const inv = await must(
        sessions.host.req("POST", "/api/v1/teams/lobby/invitations", { email: `${fresh("peek")}@example.com` }),
        201,
        "invite",
      );
      return { path: "/api/v1/invitations/lookup", body: { token: inv.body.token } };
    },
    verify: async (_who, _call, res) => expect(res.body.team).toBe("lobby"),
  },

  // ---- The caller's own things ----
  "GET /api/v1/session": {
    expect: s(401, 200, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/session" }),
    verify: async (who, _call, res) => {
      if (who !== "anonymous") expect(res.body.user.email).toBe(emails[who]);
    },
  },
  "GET /api/v1/teams": {
    expect: s(401, 200, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/teams" }),
    verify: async (who, _call, res) => {
      if (who === "anonymous") return;
      const acme = res.body.find((t: { name: string }) => t.name === "acme");
      expect(acme?.role).toBe(isRole(who) ? who : undefined);
    },
  },
  "POST /api/v1/teams": {
    expect: s(401, 201, 201, 201, 201, 201),
    prepare: async () => ({ path: "/api/v1/teams", body: { name: fresh("team") } }),
    verify: async (_who, call, res) => {
      const name = (call.body as { name: string }).name;
      expect(await db().team.count({ where: { name } })).toBe(res.status === 201 ? 1 : 0);
    },
  },
  "GET /api/v1/apps": {
    expect: s(401, 200, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps" }),
    verify: async (who, _call, res) => {
      if (who === "anonymous") return;
      const names = res.body.map((a: { name: string }) => a.name);
      // Members of acme see its apps; the outsider sees none of them.
      expect(names.includes("acme-app")).toBe(isRole(who));
    },
  },
  "GET /api/v1/tokens": {
    expect: s(401, 200, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/tokens" }),
  },
  "POST /api/v1/tokens": {
    expect: s(401, 201, 201, 201, 201, 201),
    prepare: async () => ({ path: "/api/v1/tokens", body: { name: fresh("tok") } }),
  },
  "DELETE /api/v1/tokens/{id}": {
    // Everyone revokes their own token; the outsider tries the acme owner's.
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async (who) => {
      const maker = isRole(who) ? sessions[who] : owner();
      const t = await must(maker.req("POST", "/api/v1/tokens", { name: fresh("victim") }), 201, "create token");
      return { path: `/api/v1/tokens/${t.body.id}`, ref: t.body.id };
    },
    verify: async (_who, call, res) => {
      const row = await db().apiToken.findUnique({ where: { id: call.ref ?? "" } });
      expect(row?.revokedAt !== null).toBe(res.status === 200);
    },
  },
  "POST /api/v1/invitations/accept": {
    // Each role accepts an invitation to `lobby` sent to their own email; the outsider holds one sent to the owner.
    expect: s(401, 403, 200, 200, 200, 200),
    prepare: async (who) => {
      const invitee: Principal = isRole(who) ? who : "owner";
      await sessions.host.req("DELETE", `/api/v1/teams/lobby/members/${emails[invitee]}`);
      const inv = await must(
        sessions.host.req("POST", "/api/v1/teams/lobby/invitations", { email: emails[invitee] }),
        201,
        "invite",
      );
      return { path: "/api/v1/invitations/accept", body: { token: inv.body.token }, ref: invitee };
    },
    verify: async (who, call, res) => {
      const members = (await sessions.host.req("GET", "/api/v1/teams/lobby/members")).body.map(
        (m: { email: string }) => m.email,
      );
      expect(members.includes(emails[call.ref as Principal])).toBe(res.status === 200);
      if (who === "outsider") expect(members).not.toContain(emails.outsider);
    },
  },

  // ---- Team acme ----
  "GET /api/v1/teams/{team}": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/teams/acme" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.role).toBe(who);
    },
  },
  "DELETE /api/v1/teams/{team}": {
    expect: s(401, 404, 403, 403, 403, 204),
    prepare: async () => {
      // A throwaway team with the same four members, so acme survives.
      const name = fresh("doomed");
      await must(owner().req("POST", "/api/v1/teams", { name }), 201, "create team");
      for (const role of ["viewer", "member", "admin"] as const) {
        await must(
          owner().req("POST", `/api/v1/teams/${name}/members`, { email: emails[role], role }),
          201,
          `add ${role}`,
        );
      }
      return { path: `/api/v1/teams/${name}`, ref: name };
    },
    verify: async (_who, call, res) => {
      expect(await db().team.count({ where: { name: call.ref ?? "" } })).toBe(res.status === 204 ? 0 : 1);
    },
  },
  "GET /api/v1/teams/{team}/members": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/teams/acme/members" }),
  },
  "POST /api/v1/teams/{team}/members": {
    expect: s(401, 404, 403, 403, 201, 201),
    prepare: async () => {
      await owner().req("DELETE", `/api/v1/teams/acme/members/${emails.sam}`);
      return { path: "/api/v1/teams/acme/members", body: { email: emails.sam, role: "member" } };
    },
    verify: async (_who, _call, res) => expect(await samRole()).toBe(res.status === 201 ? "member" : undefined),
  },
  "PATCH /api/v1/teams/{team}/members/{member}": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => {
      await resetSam();
      return { path: `/api/v1/teams/acme/members/${emails.sam}`, body: { role: "member" } };
    },
    verify: async (_who, _call, res) => expect(await samRole()).toBe(res.status === 200 ? "member" : "viewer"),
  },
  "DELETE /api/v1/teams/{team}/members/{member}": {
    expect: s(401, 404, 403, 403, 204, 204),
    prepare: async () => {
      await resetSam();
      return { path: `/api/v1/teams/acme/members/${emails.sam}` };
    },
    verify: async (_who, _call, res) => expect(await samRole()).toBe(res.status === 204 ? undefined : "viewer"),
  },
  "GET /api/v1/teams/{team}/invitations": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => ({ path: "/api/v1/teams/acme/invitations" }),
  },
  "POST /api/v1/teams/{team}/invitations": {
    expect: s(401, 404, 403, 403, 201, 201),
    prepare: async () => ({
      path: "/api/v1/teams/acme/invitations",
      body: { email: `${fresh("inv")}@example.com`, role: "member" },
    }),
    verify: async (_who, call, res) => {
      const email = (call.body as { email: string }).email;
      expect(await db().invitation.count({ where: { email } })).toBe(allowed(res, 201) ? 1 : 0);
    },
  },
  "DELETE /api/v1/teams/{team}/invitations/{id}": {
    expect: s(401, 404, 403, 403, 204, 204),
    prepare: async () => {
      const inv = await must(
        owner().req("POST", "/api/v1/teams/acme/invitations", { email: `${fresh("wd")}@example.com` }),
        201,
        "invite",
      );
      return { path: `/api/v1/teams/acme/invitations/${inv.body.id}`, ref: inv.body.id };
    },
    verify: async (_who, call, res) => {
      expect(await db().invitation.count({ where: { id: call.ref ?? "" } })).toBe(res.status === 204 ? 0 : 1);
    },
  },
  "GET /api/v1/teams/{team}/audit": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => ({ path: "/api/v1/teams/acme/audit" }),
  },

  // ---- Apps of acme ----
  "POST /api/v1/apps": {
    expect: s(401, 404, 403, 403, 201, 201),
    prepare: async () => ({ path: "/api/v1/apps", body: { name: fresh("new"), team: "acme" } }),
    verify: async (_who, call, res) => {
      expect(await appExists((call.body as { name: string }).name)).toBe(res.status === 201);
    },
  },
  "GET /api/v1/apps/{app}": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.role).toBe(who);
      if (who === "outsider") expect(res.body.error.message).toBe("app 'acme-app' not found");
    },
  },
  "PATCH /api/v1/apps/{app}": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => {
      await must(owner().req("PATCH", "/api/v1/apps/acme-app", { maintenance: false }), 200, "reset maintenance");
      return { path: "/api/v1/apps/acme-app", body: { maintenance: true } };
    },
    verify: async (_who, _call, res) => {
      const app = await must(owner().req("GET", "/api/v1/apps/acme-app"), 200, "get app");
      expect(app.body.maintenance).toBe(res.status === 200);
    },
  },
  "DELETE /api/v1/apps/{app}": {
    expect: s(401, 404, 403, 403, 204, 204),
    prepare: async () => {
      const name = await freshApp();
      return { path: `/api/v1/apps/${name}`, ref: name };
    },
    verify: async (_who, call, res) => expect(await appExists(call.ref ?? "")).toBe(res.status !== 204),
  },
  "GET /api/v1/apps/{app}/builds": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/builds" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.map((b: { id: string }) => b.id)).toContain(fixtures.buildId);
    },
  },
  "GET /api/v1/apps/{app}/builds/{id}": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: `/api/v1/apps/acme-app/builds/${fixtures.buildId}` }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.output).toBe("step 1/1: done");
    },
  },
  "GET /api/v1/apps/{app}/releases": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/releases" }),
    verify: async (who, _call, res) => {
      if (!isRole(who)) return;
      expect(res.body[0]?.configKeys).toEqual(["SECRET_KEY"]);
      // Config values are for members and up (config:reveal); viewers see only the keys.
      expect(res.body[0]?.config).toEqual(rank(who) >= rank("member") ? { SECRET_KEY: "hunter2" } : undefined);
    },
  },
  "POST /api/v1/apps/{app}/releases": {
    // app:deploy is member and up. Those allowed get 503 here because this test server runs no image registry
    // (the root tier deploys for real): what matters is that nobody else gets past the permission check.
    expect: s(401, 404, 403, 503, 503, 503),
    prepare: async () => ({
      path: "/api/v1/apps/acme-app/releases",
      body: { image: "docker.io/library/busybox:1.36" },
    }),
    verify: async (_who, _call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: "acme-app" } });
      expect(await db().release.count({ where: { appId: app.id } })).toBe(1);
      if (res.status === 503) expect(res.body.error.code).toBe("unavailable");
    },
  },
  "GET /api/v1/apps/{app}/releases/{version}": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/releases/v1" }),
    verify: async (who, _call, res) => {
      if (!isRole(who)) return;
      expect(res.body.name).toBe("v1");
      expect(JSON.stringify(res.body).includes("hunter2")).toBe(rank(who) >= rank("member"));
    },
  },
  "GET /api/v1/apps/{app}/config": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/config" }),
    verify: async (who, _call, res) => {
      if (!isRole(who)) return;
      const secret = res.body.find((v: { key: string }) => v.key === "SECRET_KEY");
      // Secret-looking values are masked for viewers only (config:reveal is member and up).
      expect(secret.value === "hunter2").toBe(rank(who) >= rank("member"));
      expect(secret.masked).toBe(rank(who) < rank("member"));
    },
  },
  "PATCH /api/v1/apps/{app}/config": {
    expect: s(401, 404, 403, 200, 200, 200),
    prepare: async () => {
      const ref = `K_${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
      // A separate app without releases, so config changes create no releases that other rows count.
      return { path: "/api/v1/apps/acme-cfg/config", body: { set: { [ref]: "v" } }, ref };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: "acme-cfg" } });
      const row = await db().configVar.findUnique({ where: { appId_key: { appId: app.id, key: call.ref ?? "" } } });
      expect(row !== null).toBe(res.status === 200);
    },
  },
  "GET /api/v1/apps/{app}/formation": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/formation" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.map((f: { type: string }) => f.type)).toContain("web");
    },
  },
  "GET /api/v1/apps/{app}/stats": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/stats?since=2020-01-01T00:00:00Z" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(Array.isArray(res.body.instances)).toBe(true);
    },
  },
  "PATCH /api/v1/apps/{app}/formation": {
    // app:scale is member and up; changing the formation never makes a release (the releases row counts them).
    expect: s(401, 404, 403, 200, 200, 200),
    prepare: async () => {
      const app = await db().app.findUniqueOrThrow({ where: { name: "acme-app" } });
      await db().formation.update({ where: { appId_type: { appId: app.id, type: "web" } }, data: { quantity: 1 } });
      const quantity = 2 + (++seq % 90);
      return {
        path: "/api/v1/apps/acme-app/formation",
        body: { updates: [{ type: "web", quantity }] },
        ref: String(quantity),
      };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: "acme-app" } });
      const web = await db().formation.findUniqueOrThrow({ where: { appId_type: { appId: app.id, type: "web" } } });
      expect(web.quantity).toBe(res.status === 200 ? Number(call.ref) : 1);
      expect(await db().release.count({ where: { appId: app.id } })).toBe(1);
    },
  },
  "GET /api/v1/apps/{app}/deploy-settings": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/deploy-settings" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body).toEqual({ rolloutBatch: 0, healthCheckPath: null });
    },
  },
  "PATCH /api/v1/apps/{app}/deploy-settings": {
    // The formation's roles (app:scale, member and up). On acme-cfg, so its audit events do not crowd acme-app's
    // activity page; a change never makes a release (acme-cfg has none).
    expect: s(401, 404, 403, 200, 200, 200),
    prepare: async () => {
      await db().app.update({ where: { name: "acme-cfg" }, data: { rolloutBatch: 0 } });
      const rolloutBatch = 1 + (++seq % 90);
      return { path: "/api/v1/apps/acme-cfg/deploy-settings", body: { rolloutBatch }, ref: String(rolloutBatch) };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: "acme-cfg" } });
      expect(app.rolloutBatch).toBe(res.status === 200 ? Number(call.ref) : 0);
      expect(await db().release.count({ where: { appId: app.id } })).toBe(0);
    },
  },
  "GET /api/v1/apps/{app}/instances": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/instances" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(Array.isArray(res.body)).toBe(true);
    },
  },
  "GET /api/v1/apps/{app}/rollout": {
    // Read-only (app:read, viewer and up); another team's app is a 404 like everywhere.
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/rollout" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body).toMatchObject({ processes: expect.any(Array), settled: expect.any(Boolean) });
    },
  },
  "POST /api/v1/apps/{app}/restart": {
    // app:scale is member and up: running instances are marked for a rolling replacement.
    expect: s(401, 404, 403, 202, 202, 202),
    prepare: async () => {
      const name = await freshApp();
      const app = await db().app.findUniqueOrThrow({ where: { name } });
      // The fixture node has no agent: seen "now" so the scheduler does not write it off as lost (after 60 s) and
      // reschedule this instance before the restart reaches it.
      await db().node.update({ where: { id: fixtures.nodeId }, data: { lastSeenAt: new Date() } });
      const release = await db().release.create({
        data: { appId: app.id, version: 1, imageRef: name, status: "deployed", processTypes: '{"web":""}' },
      });
      await db().instance.create({
        data: {
          id: fresh("inst"),
          appId: app.id,
          releaseId: release.id,
          processType: "web",
          state: "running",
          nodeId: fixtures.nodeId,
        },
      });
      return { path: `/api/v1/apps/${name}/restart`, body: {}, ref: name };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: call.ref as string } });
      // The row itself is the scheduler's as soon as the restart kicks it (a replaced instance may already be on its
      // way to "stopped"), so the effect is read from what only the restart writes: its answer and its audit event.
      const rows = await db().instance.findMany({ where: { appId: app.id } });
      if (res.status !== 202) expect(rows.some((r) => r.desired === "replace")).toBe(false);
      const audited = await db().auditEvent.count({ where: { appName: app.name, action: "instances.restart" } });
      expect(audited).toBe(res.status === 202 ? 1 : 0);
      if (res.status === 202) expect(res.body).toEqual({ restarting: 1 });
    },
  },
  "POST /api/v1/apps/{app}/run": {
    // app:deploy is member and up. No node is connected here, so the one-off cannot be placed: the stream still
    // starts, then ends with a non-zero exit and the instance is gone.
    expect: s(401, 404, 403, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/run", body: { command: ["echo", "hi"] } }),
    verify: async (_who, _call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: "acme-app" } });
      if (res.status === 200) {
        const events = String(res.body)
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { type: string; code?: number });
        expect(events[0]?.type).toBe("started");
        expect(events.at(-1)).toMatchObject({ type: "exit", code: 1 });
      }
      expect(await db().instance.count({ where: { appId: app.id, processType: "run", desired: "oneoff" } })).toBe(0);
    },
  },
  "POST /api/v1/apps/{app}/releases/rollback": {
    // app:deploy is member and up: a new release with v1's image and config; the config vars follow.
    expect: s(401, 404, 403, 201, 201, 201),
    prepare: async () => {
      const name = await freshApp();
      const app = await db().app.findUniqueOrThrow({ where: { name } });
      const base = { appId: app.id, imageRef: name, processTypes: '{"web":""}' };
      await db().release.create({ data: { ...base, version: 1, config: '{"A":"1"}', status: "superseded" } });
      await db().release.create({ data: { ...base, version: 2, config: '{"A":"2"}', status: "deployed" } });
      await db().configVar.create({ data: { appId: app.id, key: "A", value: "2" } });
      return { path: `/api/v1/apps/${name}/releases/rollback`, body: {}, ref: name };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: call.ref as string } });
      expect(await db().release.count({ where: { appId: app.id } })).toBe(res.status === 201 ? 3 : 2);
      const a = await db().configVar.findFirstOrThrow({ where: { appId: app.id, key: "A" } });
      expect(a.value).toBe(res.status === 201 ? "1" : "2");
      if (res.status === 201) expect(res.body).toMatchObject({ version: 3, description: "Rollback to v1" });
    },
  },
  "GET /api/v1/apps/{app}/domains": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/domains" }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.map((d: { hostname: string }) => d.hostname)).toContain("www.acme.example");
    },
  },
  "POST /api/v1/apps/{app}/domains": {
    expect: s(401, 404, 403, 403, 201, 201),
    prepare: async () => {
      const hostname = `${fresh("d")}.acme.example`;
      return { path: "/api/v1/apps/acme-app/domains", body: { hostname }, ref: hostname };
    },
    verify: async (_who, call, res) => {
      expect(await db().domain.count({ where: { hostname: call.ref ?? "" } })).toBe(res.status === 201 ? 1 : 0);
    },
  },
  "POST /api/v1/apps/{app}/domains/{hostname}/verify": {
    // A domain verified already: the call answers without a DNS lookup, so only authorization decides.
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => {
      // A fresh app, so these events do not crowd acme-app's activity page.
      const name = await freshApp();
      const hostname = `${fresh("v")}.acme.example`;
      await must(owner().req("POST", `/api/v1/apps/${name}/domains`, { hostname }), 201, "add domain");
      await db().domain.updateMany({
        where: { hostname },
        data: { verifiedAt: new Date(), verifiedHostname: hostname },
      });
      return { path: `/api/v1/apps/${name}/domains/${hostname}/verify`, ref: hostname };
    },
    verify: async (_who, call, res) => {
      if (res.status === 200) expect(res.body).toMatchObject({ hostname: call.ref, status: "verified" });
      expect(await db().domain.count({ where: { hostname: call.ref ?? "", verifiedAt: { not: null } } })).toBe(1);
    },
  },
  "DELETE /api/v1/apps/{app}/domains/{hostname}": {
    expect: s(401, 404, 403, 403, 204, 204),
    prepare: async () => {
      const hostname = `${fresh("gone")}.acme.example`;
      await must(owner().req("POST", "/api/v1/apps/acme-app/domains", { hostname }), 201, "add domain");
      return { path: `/api/v1/apps/acme-app/domains/${hostname}`, ref: hostname };
    },
    verify: async (_who, call, res) => {
      expect(await db().domain.count({ where: { hostname: call.ref ?? "" } })).toBe(res.status === 204 ? 0 : 1);
    },
  },
  "GET /api/v1/apps/{app}/volumes": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const name = await freshApp();
      await must(
        owner().req("POST", `/api/v1/apps/${name}/volumes`, { name: "data", mountPath: "/data", sizeMb: 64 }),
        201,
        "volume",
      );
      return { path: `/api/v1/apps/${name}/volumes` };
    },
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.map((v: { name: string }) => v.name)).toEqual(["data"]);
    },
  },
  "POST /api/v1/apps/{app}/volumes": {
    expect: s(401, 404, 403, 403, 201, 201),
    prepare: async () => {
      const name = await freshApp();
      return {
        path: `/api/v1/apps/${name}/volumes`,
        body: { name: "data", mountPath: "/data", sizeMb: 64 },
        ref: name,
      };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: call.ref as string } });
      expect(await db().volume.count({ where: { appId: app.id } })).toBe(res.status === 201 ? 1 : 0);
    },
  },
  "GET /api/v1/apps/{app}/volumes/{volume}": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const name = await freshApp();
      await must(
        owner().req("POST", `/api/v1/apps/${name}/volumes`, { name: "data", mountPath: "/data", sizeMb: 64 }),
        201,
        "volume",
      );
      return { path: `/api/v1/apps/${name}/volumes/data` };
    },
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body).toMatchObject({ name: "data", mountPath: "/data", instances: [] });
    },
  },
  "DELETE /api/v1/apps/{app}/volumes/{volume}": {
    expect: s(401, 404, 403, 403, 204, 204),
    prepare: async () => {
      const name = await freshApp();
      await must(
        owner().req("POST", `/api/v1/apps/${name}/volumes`, { name: "data", mountPath: "/data", sizeMb: 64 }),
        201,
        "volume",
      );
      return { path: `/api/v1/apps/${name}/volumes/data`, ref: name };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: call.ref as string } });
      expect(await db().volume.count({ where: { appId: app.id } })).toBe(res.status === 204 ? 0 : 1);
    },
  },
  "GET /api/v1/apps/{app}/volumes/{volume}/backups": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const b = await seedVolumeBackup();
      return { path: `/api/v1/apps/${b.app}/volumes/data/backups`, ref: b.id };
    },
    verify: async (who, call, res) => {
      if (isRole(who)) expect(res.body.map((x: { id: string }) => x.id)).toEqual([call.ref]);
    },
  },
  "POST /api/v1/apps/{app}/volumes/{volume}/backups": {
    // Members reach the volume's node check: it was never placed (no agent here), so nothing runs.
    expect: s(401, 404, 403, 409, 409, 409),
    prepare: async () => {
      const b = await seedVolumeBackup();
      return { path: `/api/v1/apps/${b.app}/volumes/data/backups`, ref: b.app };
    },
    verify: async (_who, call) => {
      expect(await db().volumeBackup.count({ where: { volume: { app: { name: call.ref as string } } } })).toBe(1);
    },
  },
  "GET /api/v1/apps/{app}/volume-backups/{backup}": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const b = await seedVolumeBackup();
      return { path: `/api/v1/apps/${b.app}/volume-backups/${b.id}`, ref: b.id };
    },
    verify: async (who, call, res) => {
      if (isRole(who)) expect(res.body).toMatchObject({ id: call.ref, volume: "data", state: "completed" });
    },
  },
  "GET /api/v1/apps/{app}/volume-backups/{backup}/download": {
    // A backup holds all of the volume's files: members and up only.
    expect: s(401, 404, 403, 200, 200, 200),
    prepare: async () => {
      const b = await seedVolumeBackup();
      return { path: `/api/v1/apps/${b.app}/volume-backups/${b.id}/download`, ref: b.id };
    },
    verify: async (_who, call, res) => {
      expect(
        await db().auditEvent.count({
          where: { action: "volume.backup.download", data: { contains: call.ref as string } },
        }),
      ).toBe(res.status === 200 ? 1 : 0);
    },
  },
  "POST /api/v1/apps/{app}/volume-backups/{backup}/restore": {
    // Members reach the node check (never placed here): nothing is restored, nothing audited.
    expect: s(401, 404, 403, 409, 409, 409),
    prepare: async () => {
      const b = await seedVolumeBackup();
      return { path: `/api/v1/apps/${b.app}/volume-backups/${b.id}/restore`, body: { confirm: b.app }, ref: b.id };
    },
    verify: async (_who, call) => {
      expect(
        await db().auditEvent.count({
          where: { action: "volume.backup.restore", data: { contains: call.ref as string } },
        }),
      ).toBe(0);
    },
  },
  "GET /api/v1/apps/{app}/addons": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const name = await freshApp();
      await must(owner().req("POST", `/api/v1/apps/${name}/addons`, { kind: "postgres" }), 202, "addon");
      return { path: `/api/v1/apps/${name}/addons` };
    },
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.map((a: { kind: string }) => a.kind)).toEqual(["postgres"]);
    },
  },
  "POST /api/v1/apps/{app}/addons": {
    // Members create add-ons (they are a config change: DATABASE_URL).
    expect: s(401, 404, 403, 202, 202, 202),
    prepare: async () => {
      const name = await freshApp();
      return { path: `/api/v1/apps/${name}/addons`, body: { kind: "postgres" }, ref: name };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: call.ref as string } });
      expect(await db().addon.count({ where: { appId: app.id } })).toBe(res.status === 202 ? 1 : 0);
    },
  },
  "GET /api/v1/apps/{app}/addons/{addon}": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const name = await freshApp();
      const r = await must(owner().req("POST", `/api/v1/apps/${name}/addons`, { kind: "postgres" }), 202, "addon");
      return { path: `/api/v1/apps/${name}/addons/${r.body.name as string}`, ref: r.body.name as string };
    },
    verify: async (who, call, res) => {
      if (isRole(who)) expect(res.body).toMatchObject({ name: call.ref, kind: "postgres", version: "15" });
    },
  },
  "DELETE /api/v1/apps/{app}/addons/{addon}": {
    expect: s(401, 404, 403, 204, 204, 204),
    prepare: async () => {
      const name = await freshApp();
      const r = await must(owner().req("POST", `/api/v1/apps/${name}/addons`, { kind: "postgres" }), 202, "addon");
      return { path: `/api/v1/apps/${name}/addons/${r.body.name as string}`, ref: r.body.name as string };
    },
    verify: async (_who, call, res) => {
      expect(await db().addon.count({ where: { name: call.ref ?? "" } })).toBe(res.status === 204 ? 0 : 1);
      expect(await db().app.count({ where: { name: call.ref ?? "" } })).toBe(res.status === 204 ? 0 : 1);
    },
  },
  "GET /api/v1/apps/{app}/addons/{addon}/backups": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const b = await seedBackup();
      return { path: `/api/v1/apps/${b.app}/addons/${b.addon}/backups`, ref: b.id };
    },
    verify: async (who, call, res) => {
      if (isRole(who)) expect(res.body.map((x: { id: string }) => x.id)).toEqual([call.ref]);
    },
  },
  "POST /api/v1/apps/{app}/addons/{addon}/backups": {
    // Members reach the add-on's state check: this one never became available (no agent here), so nothing runs.
    expect: s(401, 404, 403, 409, 409, 409),
    prepare: async () => {
      const b = await seedBackup();
      return { path: `/api/v1/apps/${b.app}/addons/${b.addon}/backups`, ref: b.addon };
    },
    verify: async (_who, call) => {
      expect(await db().addonBackup.count({ where: { addon: { name: call.ref as string } } })).toBe(1);
    },
  },
  "GET /api/v1/apps/{app}/addon-backups/{backup}": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const b = await seedBackup();
      return { path: `/api/v1/apps/${b.app}/addon-backups/${b.id}`, ref: b.id };
    },
    verify: async (who, call, res) => {
      if (isRole(who)) expect(res.body).toMatchObject({ id: call.ref, state: "completed", sizeBytes: 5 });
    },
  },
  "GET /api/v1/apps/{app}/addon-backups/{backup}/download": {
    // A backup holds all of the add-on's data: members and up only, like its config vars' values.
    expect: s(401, 404, 403, 200, 200, 200),
    prepare: async () => {
      const b = await seedBackup();
      return { path: `/api/v1/apps/${b.app}/addon-backups/${b.id}/download`, ref: b.id };
    },
    verify: async (_who, call, res) => {
      expect(
        await db().auditEvent.count({
          where: { action: "addon.backup.download", data: { contains: call.ref as string } },
        }),
      ).toBe(res.status === 200 ? 1 : 0);
    },
  },
  "POST /api/v1/apps/{app}/addon-backups/{backup}/restore": {
    // Members reach the add-on's state check (never available here): nothing is restored, nothing audited.
    expect: s(401, 404, 403, 409, 409, 409),
    prepare: async () => {
      const b = await seedBackup();
      return { path: `/api/v1/apps/${b.app}/addon-backups/${b.id}/restore`, body: { confirm: b.app }, ref: b.id };
    },
    verify: async (_who, call) => {
      expect(
        await db().auditEvent.count({
          where: { action: "addon.backup.restore", data: { contains: call.ref as string } },
        }),
      ).toBe(0);
    },
  },
  "GET /api/v1/apps/{app}/attachments": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: `/api/v1/apps/${await freshApp()}/attachments` }),
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body).toEqual([]);
    },
  },
  "POST /api/v1/apps/{app}/attachments": {
    // Authorized callers reach the add-on's state check: this one never became available (no registry here).
    expect: s(401, 404, 403, 409, 409, 409),
    prepare: async () => {
      const owning = await freshApp();
      const r = await must(owner().req("POST", `/api/v1/apps/${owning}/addons`, { kind: "postgres" }), 202, "addon");
      const name = await freshApp();
      return { path: `/api/v1/apps/${name}/attachments`, body: { addon: r.body.name as string }, ref: name };
    },
    verify: async (_who, call) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: call.ref as string } });
      expect(await db().addonAttachment.count({ where: { appId: app.id } })).toBe(0);
    },
  },
  "DELETE /api/v1/apps/{app}/attachments/{addon}": {
    expect: s(401, 404, 403, 204, 204, 204),
    prepare: async () => {
      const owning = await freshApp();
      const r = await must(owner().req("POST", `/api/v1/apps/${owning}/addons`, { kind: "postgres" }), 202, "addon");
      const name = await freshApp();
      const app = await db().app.findUniqueOrThrow({ where: { name } });
      const addon = await db().addon.findUniqueOrThrow({ where: { name: r.body.name as string } });
      await db().addonAttachment.create({ data: { addonId: addon.id, appId: app.id, configVar: "MAIN_DB" } });
      return { path: `/api/v1/apps/${name}/attachments/${addon.name}`, ref: name };
    },
    verify: async (_who, call, res) => {
      const app = await db().app.findUniqueOrThrow({ where: { name: call.ref as string } });
      expect(await db().addonAttachment.count({ where: { appId: app.id } })).toBe(res.status === 204 ? 0 : 1);
    },
  },
  "GET /api/v1/apps/{app}/logs": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => {
      const { appendAppLog } = await import("../../server/logs/ingest.ts");
      await appendAppLog(srv.cp.services, "acme-app", [{ source: "berth", text: "matrix log line" }]);
      return { path: "/api/v1/apps/acme-app/logs?lines=5" };
    },
    verify: async (who, _call, res) => {
      if (isRole(who)) expect(res.body.entries.map((e: { text: string }) => e.text)).toContain("matrix log line");
      else expect(JSON.stringify(res.body)).not.toContain("matrix log line");
    },
  },
  "GET /api/v1/apps/{app}/activity": {
    expect: s(401, 404, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/apps/acme-app/activity" }),
    verify: async (who, _call, res) => {
      if (!isRole(who)) return;
      expect(res.body.map((e: { action: string }) => e.action)).toContain("app.create");
      expect(JSON.stringify(res.body)).not.toContain("hunter2");
    },
  },
  "GET /api/v1/nodes": {
    // Everyone signed in may ask; the list is filtered to nodes of teams they administer.
    expect: s(401, 200, 200, 200, 200, 200),
    prepare: async () => ({ path: "/api/v1/nodes" }),
    verify: async (who, _call, res) => {
      if (who === "anonymous") return;
      const names = res.body.map((n: { name: string }) => n.name);
      expect(names.includes("acme-node")).toBe(rank(who) >= rank("admin"));
    },
  },
  "GET /api/v1/nodes/{id}": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => ({ path: `/api/v1/nodes/${fixtures.nodeId}` }),
    verify: async (_who, _call, res) => {
      if (res.status === 200) expect(res.body.name).toBe("acme-node");
    },
  },
  "POST /api/v1/nodes/{id}/cordon": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => {
      await db().node.update({ where: { id: fixtures.nodeId }, data: { cordoned: false } });
      return { path: `/api/v1/nodes/${fixtures.nodeId}/cordon` };
    },
    verify: async (_who, _call, res) => {
      const node = await db().node.findUniqueOrThrow({ where: { id: fixtures.nodeId } });
      expect(node.cordoned).toBe(res.status === 200);
    },
  },
  "POST /api/v1/nodes/{id}/uncordon": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => {
      await db().node.update({ where: { id: fixtures.nodeId }, data: { cordoned: true } });
      return { path: `/api/v1/nodes/${fixtures.nodeId}/uncordon` };
    },
    verify: async (_who, _call, res) => {
      const node = await db().node.findUniqueOrThrow({ where: { id: fixtures.nodeId } });
      expect(node.cordoned).toBe(res.status !== 200);
    },
  },
  "POST /api/v1/nodes/{id}/drain": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => {
      await db().node.update({ where: { id: fixtures.nodeId }, data: { cordoned: false } });
      return { path: `/api/v1/nodes/${fixtures.nodeId}/drain` };
    },
    verify: async (_who, _call, res) => {
      const node = await db().node.findUniqueOrThrow({ where: { id: fixtures.nodeId } });
      expect(node.cordoned).toBe(res.status === 200);
    },
  },
  "DELETE /api/v1/nodes/{id}": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => {
      const acme = await db().team.findUniqueOrThrow({ where: { name: "acme" } });
      const node = await db().node.create({ data: { name: fresh("gone-node"), teamId: acme.id, state: "down" } });
      return { path: `/api/v1/nodes/${node.id}`, ref: node.id };
    },
    verify: async (_who, call, res) => {
      const node = await db().node.findUnique({ where: { id: call.ref ?? "" } });
      expect(node === null).toBe(res.status === 200);
    },
  },
  "PUT /api/v1/nodes/{id}/address": {
    // Instance admin only (nobody in acme is one): a tenant must not choose where the router sends traffic.
    expect: s(401, 404, 403, 403, 403, 403),
    prepare: async () => ({ path: `/api/v1/nodes/${fixtures.nodeId}/address`, body: { address: "10.1.2.3" } }),
    verify: async () => {
      const node = await db().node.findUniqueOrThrow({ where: { id: fixtures.nodeId } });
      expect(node.addressOverride).toBeNull();
    },
  },
  "GET /api/v1/nodes/join-tokens": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => ({ path: "/api/v1/nodes/join-tokens?team=acme" }),
    verify: async (_who, _call, res) => {
      if (res.status === 200) expect(JSON.stringify(res.body)).not.toContain("bn_");
    },
  },
  "POST /api/v1/nodes/join-tokens": {
    expect: s(401, 404, 403, 403, 201, 201),
    prepare: async () => {
      const ref = fresh("join");
      return { path: "/api/v1/nodes/join-tokens", body: { name: ref, team: "acme" }, ref };
    },
    verify: async (_who, call, res) => {
      const count = await db().nodeJoinToken.count({ where: { name: call.ref ?? "" } });
      expect(count).toBe(res.status === 201 ? 1 : 0);
    },
  },
  "DELETE /api/v1/nodes/join-tokens/{id}": {
    expect: s(401, 404, 403, 403, 200, 200),
    prepare: async () => {
      const r = await must(
        owner().req("POST", "/api/v1/nodes/join-tokens", { name: fresh("revoke"), team: "acme" }),
        201,
        "join token",
      );
      return { path: `/api/v1/nodes/join-tokens/${r.body.id}`, ref: r.body.id };
    },
    verify: async (_who, call, res) => {
      const row = await db().nodeJoinToken.findUniqueOrThrow({ where: { id: call.ref ?? "" } });
      expect(row.revokedAt !== null).toBe(res.status === 200);
    },
  },
  // ---- Platform stacks: instance admin only (nobody in acme is one), so every caller here is refused ----
  "GET /api/v1/stacks": {
    expect: s(401, 403, 403, 403, 403, 403),
    prepare: async () => ({ path: "/api/v1/stacks" }),
  },
  "POST /api/v1/stacks/rebuild": {
    expect: s(401, 403, 403, 403, 403, 403),
    prepare: async () => ({ path: "/api/v1/stacks/rebuild" }),
    verify: async () => expect((await instanceAdmin.req("GET", "/api/v1/stacks/rebuild")).status).toBe(404),
  },
  "GET /api/v1/stacks/rebuild": {
    expect: s(401, 403, 403, 403, 403, 403),
    prepare: async () => ({ path: "/api/v1/stacks/rebuild" }),
  },
  // ---- Platform status: instance admin only, like the stacks ----
  "GET /api/v1/admin/status": {
    expect: s(401, 403, 403, 403, 403, 403),
    prepare: async () => ({ path: "/api/v1/admin/status" }),
  },
};

const fixtures = { buildId: "", nodeId: "" };

beforeAll(async () => {
  srv = await startTestServer();
  // The instance admin is nobody in acme: instance-wide admin rights must not leak into teams.
  instanceAdmin = new ApiClient(srv.url);
  expect((await must(instanceAdmin.signUp("root-user@example.com"), 201, "sign up root")).body.user.isAdmin).toBe(true);
  for (const p of ["owner", "admin", "member", "viewer", "outsider", "host", "sam"] as const) {
    const c = new ApiClient(srv.url);
    emails[p] = `acme-${p}@example.com`;
    const r = await must(c.signUp(emails[p]), 201, `sign up ${p}`);
    sessions[p] = c;
    if (p !== "host" && p !== "sam") {
      userIds[p] = r.body.user.id;
      tokens[p] = await c.tokenClient("matrix");
    }
  }
  outsiderTeam = (await sessions.outsider.req("GET", "/api/v1/teams")).body[0].name;
  await must(owner().req("POST", "/api/v1/teams", { name: "acme" }), 201, "create acme");
  for (const role of ["admin", "member", "viewer"] as const) {
    await must(owner().req("POST", "/api/v1/teams/acme/members", { email: emails[role], role }), 201, `add ${role}`);
  }
  await must(sessions.host.req("POST", "/api/v1/teams", { name: "lobby" }), 201, "create lobby");
  await must(owner().req("POST", "/api/v1/apps", { name: "acme-app", team: "acme" }), 201, "create acme-app");
  await must(sessions.outsider.req("POST", "/api/v1/apps", { name: "outsider-app" }), 201, "create outsider-app");
  await must(owner().req("POST", "/api/v1/apps", { name: "acme-cfg", team: "acme" }), 201, "create acme-cfg");

  // A build and a release of acme-app, as a deploy would leave them.
  const app = await db().app.findUniqueOrThrow({ where: { name: "acme-app" } });
  const build = await db().build.create({ data: { appId: app.id, status: "succeeded", output: "step 1/1: done" } });
  fixtures.buildId = build.id;
  await db().configVar.create({ data: { appId: app.id, key: "SECRET_KEY", value: "hunter2" } });
  // A node of acme, as an agent registering with an acme join token would leave it.
  const acme = await db().team.findUniqueOrThrow({ where: { name: "acme" } });
  fixtures.nodeId = (await db().node.create({ data: { name: "acme-node", teamId: acme.id, state: "ready" } })).id;
  await db().domain.create({
    data: {
      appId: app.id,
      hostname: "www.acme.example",
      verificationToken: "berth-verify-acme",
      verifiedAt: new Date(),
      verifiedHostname: "www.acme.example",
    },
  });
  await db().release.create({
    data: {
      appId: app.id,
      version: 1,
      buildId: build.id,
      imageRef: "acme-app:v1",
      config: JSON.stringify({ SECRET_KEY: "hunter2" }),
      status: "succeeded",
    },
  });
});
afterAll(async () => srv.close());

describe("route coverage", () => {
  it("has an expectation for every route in the OpenAPI document, and none for routes that are gone", async () => {
    const doc = await new ApiClient(srv.url).req("GET", "/api/v1/openapi.json");
    expect(doc.status).toBe(200);
    const documented = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented.length).toBeGreaterThan(20);
    const missing = documented.filter((r) => !(r in TABLE));
    const stale = Object.keys(TABLE).filter((r) => !documented.includes(r));
    expect(missing, "routes in the OpenAPI document without a row in TABLE").toEqual([]);
    expect(stale, "rows in TABLE for routes not in the OpenAPI document").toEqual([]);
  });

  it("documents every non-public route as needing a bearer token or the session cookie", async () => {
    const doc = await new ApiClient(srv.url).req("GET", "/api/v1/openapi.json");
    for (const [key, row] of Object.entries(TABLE)) {
      const [method = "", path = ""] = key.split(" ");
      const op = doc.body.paths[path]?.[method.toLowerCase()];
      const isPublic = row.expect.anonymous !== 401;
      expect(op?.security, key).toEqual(isPublic ? [] : [{ bearer: [] }, { session: [] }]);
    }
  });
});

describe.each(["session", "token"] as const)("authorization matrix (%s)", (mode) => {
  it.each(Object.keys(TABLE).filter((k) => (TABLE[k]?.modes ?? [mode]).includes(mode)))("%s", async (key) => {
    const row = TABLE[key] as Row;
    const method = key.split(" ")[0] as string;
    const problems: string[] = [];
    for (const who of CALLERS) {
      const call = await row.prepare(who, mode);
      const client = call.client ?? clientFor(who, mode);
      const res = await client.req(method, call.path, call.body);
      const want = row.expect[who];
      if (res.status !== want) {
        problems.push(`${who}: got ${res.status} ${JSON.stringify(res.body).slice(0, 160)}, want ${want}`);
        continue;
      }
      if (res.status >= 400) expect(res.body?.error?.code, `${key} as ${who}`).toBeTypeOf("string");
      try {
        await row.verify?.(who, call, res);
      } catch (err) {
        problems.push(`${who}: effect check failed: ${(err as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("cross-team details", () => {
  it("answers the outsider exactly as for an app that does not exist", async () => {
    const hidden = await sessions.outsider.req("GET", "/api/v1/apps/acme-app");
    const missing = await sessions.outsider.req("GET", "/api/v1/apps/no-such-app");
    expect(hidden.status).toBe(missing.status);
    expect(hidden.body.error.message.replace("acme-app", "X")).toBe(
      missing.body.error.message.replace("no-such-app", "X"),
    );
  });

  it("gives the instance admin no access to teams they are not in", async () => {
    expect((await instanceAdmin.req("GET", "/api/v1/apps/acme-app")).status).toBe(404);
    expect((await instanceAdmin.req("GET", "/api/v1/teams/acme")).status).toBe(404);
    expect((await instanceAdmin.req("GET", "/api/v1/teams/acme/audit")).status).toBe(404);
    expect((await instanceAdmin.req("DELETE", "/api/v1/apps/acme-app")).status).toBe(404);
    expect((await instanceAdmin.req("GET", "/api/v1/apps")).body).toEqual([]);
  });

  it("filters GET /apps?team= by membership: members 200, outsider 404", async () => {
    for (const role of ROLES) {
      const r = await sessions[role].req("GET", "/api/v1/apps?team=acme");
      expect(r.status, role).toBe(200);
      expect(
        r.body.map((a: { name: string }) => a.name),
        role,
      ).toContain("acme-app");
    }
    expect((await sessions.outsider.req("GET", "/api/v1/apps?team=acme")).status).toBe(404);
  });

  it("does not let anyone move an app into a team where they may not create apps, or out of reach", async () => {
    // acme's admin is no member of the outsider's team: 404, and the app stays put.
    const r = await sessions.admin.req("PATCH", "/api/v1/apps/acme-app", { team: outsiderTeam });
    expect(r.status).toBe(404);
    // The outsider cannot pull acme's app into their own team either.
    expect((await sessions.outsider.req("PATCH", "/api/v1/apps/acme-app", { team: outsiderTeam })).status).toBe(404);
    // A viewer of the destination may not create apps there: 403.
    await must(owner().req("POST", "/api/v1/teams", { name: "dest" }), 201, "create dest");
    await must(
      owner().req("POST", "/api/v1/teams/dest/members", { email: emails.admin, role: "viewer" }),
      201,
      "add admin to dest",
    );
    expect((await sessions.admin.req("PATCH", "/api/v1/apps/acme-app", { team: "dest" })).status).toBe(403);
    expect((await owner().req("GET", "/api/v1/apps/acme-app")).body.team).toBe("acme");
    // The owner of both may.
    expect((await owner().req("PATCH", "/api/v1/apps/acme-app", { team: "dest" })).body.team).toBe("dest");
    expect((await owner().req("PATCH", "/api/v1/apps/acme-app", { team: "acme" })).body.team).toBe("acme");
  });

  it("does not let the outsider create apps in acme, even by naming it", async () => {
    const r = await sessions.outsider.req("POST", "/api/v1/apps", { name: "sneaky-app", team: "acme" });
    expect(r.status).toBe(404);
    expect(await appExists("sneaky-app")).toBe(false);
  });

  it("gives acme members nothing of the outsider's team", async () => {
    for (const role of ROLES) {
      expect((await sessions[role].req("GET", "/api/v1/apps/outsider-app")).status, role).toBe(404);
      expect((await sessions[role].req("GET", `/api/v1/teams/${outsiderTeam}`)).status, role).toBe(404);
      expect((await sessions[role].req("DELETE", "/api/v1/apps/outsider-app")).status, role).toBe(404);
    }
    expect((await sessions.outsider.req("GET", "/api/v1/apps/outsider-app")).status).toBe(200);
  });
});

describe("live stream subscriptions (/api/v1/stream)", () => {
  const wsUrl = () => `${srv.url.replace(/^http/, "ws")}/api/v1/stream`;

  /** Opens a stream as `c` and subscribes to acme-app logs; resolves to the server's answer frame. */
  function subscribe(
    c: ApiClient | null,
    origin?: string,
  ): Promise<{ status?: number; frame?: { type: string; code?: string } }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = origin ? { origin } : {};
      if (c?.token) headers.authorization = `Bearer ${c.token}`;
      if (c?.cookie) headers.cookie = c.cookie;
      const ws = new WebSocket(wsUrl(), { headers });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error("stream timed out"));
      }, 10_000);
      ws.on("unexpected-response", (_req, res) => {
        clearTimeout(timer);
        resolve({ status: res.statusCode });
        ws.terminate();
      });
      ws.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on("message", (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; code?: string };
        if (frame.type === "hello") {
          ws.send(JSON.stringify({ type: "subscribe", app: "acme-app", channel: "logs" }));
          return;
        }
        clearTimeout(timer);
        resolve({ frame });
        ws.close();
      });
    });
  }

  it("refuses an anonymous handshake with 401", async () => {
    expect((await subscribe(null)).status).toBe(401);
  });

  it("refuses a cookie handshake from another site (cross-site WebSocket hijacking), accepts its own origin", async () => {
    expect((await subscribe(sessions.owner, "https://evil.example")).status).toBe(401);
    expect((await subscribe(sessions.owner, srv.url)).frame).toMatchObject({ type: "subscribed" });
  });

  it("refuses a revoked token at the handshake", async () => {
    const t = await owner().req("POST", "/api/v1/tokens", { name: "stream" });
    await owner().req("DELETE", `/api/v1/tokens/${t.body.id}`);
    expect((await subscribe(Object.assign(new ApiClient(srv.url), { token: t.body.token }))).status).toBe(401);
  });

  it.each(["session", "token"] as const)(
    "answers the outsider not_found and every role subscribed (%s)",
    async (mode) => {
      const out = await subscribe(mode === "session" ? sessions.outsider : tokens.outsider);
      expect(out.frame).toMatchObject({ type: "error", code: "not_found" });
      for (const role of ROLES) {
        const r = await subscribe(mode === "session" ? sessions[role] : tokens[role]);
        expect(r.frame, role).toMatchObject({ type: "subscribed" });
      }
    },
  );
});
