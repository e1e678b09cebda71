// Teams, members, invitations and the audit log against a real server and database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

let srv: TestServer;
const users: Record<string, ApiClient> = {};

/** A signed-in client for `name@example.com` (signed up once). */
async function as(name: string): Promise<ApiClient> {
  const existing = users[name];
  if (existing) return existing;
  const c = new ApiClient(srv.url);
  expect((await c.signUp(`${name}@example.com`)).status).toBe(201);
  users[name] = c;
  return c;
}

async function roleIn(team: string, email: string): Promise<string | undefined> {
  const owner = await as("olga");
  const r = await owner.req("GET", `/api/v1/teams/${team}/members`);
  return r.body.find((m: { email: string }) => m.email === email)?.role;
}

beforeAll(async () => {
  srv = await startTestServer();
  await as("zero"); // the instance admin: nobody below gets special treatment from it
});
afterAll(async () => srv.close());

describe("teams", () => {
  it("creates a team with the creator as its only owner", async () => {
    const olga = await as("olga");
    const r = await olga.req("POST", "/api/v1/teams", { name: "crew" });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: "crew", personal: false, role: "owner", members: 1, apps: 0 });
    const members = await olga.req("GET", "/api/v1/teams/crew/members");
    expect(members.body).toEqual([expect.objectContaining({ email: "olga@example.com", role: "owner" })]);
    const teams = await olga.req("GET", "/api/v1/teams");
    expect(teams.body.map((t: { name: string }) => t.name).sort()).toEqual(["crew", "olga"]);
  });

  it("refuses a taken name with 409 and a reserved one with 422", async () => {
    const other = await as("otto");
    const taken = await other.req("POST", "/api/v1/teams", { name: "crew" });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("conflict");
    expect((await other.req("POST", "/api/v1/teams", { name: "admin" })).status).toBe(422);
    // A personal team's name is taken too.
    expect((await other.req("POST", "/api/v1/teams", { name: "olga" })).status).toBe(409);
  });

  it("hides teams from non-members (404, not 403)", async () => {
    const otto = await as("otto");
    const r = await otto.req("GET", "/api/v1/teams/crew");
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
    expect((await otto.req("GET", "/api/v1/teams/no-such-team")).body.error.code).toBe("not_found");
  });

  it("adds a registered user directly (201) and invites an unknown email (202)", async () => {
    const olga = await as("olga");
    await as("mia");
    const added = await olga.req("POST", "/api/v1/teams/crew/members", { email: "mia@example.com", role: "member" });
    expect(added.status).toBe(201);
    expect(added.body.member).toMatchObject({ email: "mia@example.com", role: "member" });
    expect(await roleIn("crew", "mia@example.com")).toBe("member");

    const invited = await olga.req("POST", "/api/v1/teams/crew/members", { email: "later@example.com" });
    expect(invited.status).toBe(202);
    expect(invited.body.invitation).toMatchObject({ email: "later@example.com", role: "member", team: "crew" });
    expect(invited.body.invitation.token).toMatch(/^bi_/);
    expect(await roleIn("crew", "later@example.com")).toBeUndefined();

    const again = await olga.req("POST", "/api/v1/teams/crew/members", { email: "mia@example.com", role: "admin" });
    expect(again.status).toBe(409);
    expect(await roleIn("crew", "mia@example.com")).toBe("member");
  });

  it("refuses deleting a team that still has apps, and a personal team", async () => {
    const olga = await as("olga");
    expect((await olga.req("POST", "/api/v1/apps", { name: "crew-app", team: "crew" })).status).toBe(201);
    const busy = await olga.req("DELETE", "/api/v1/teams/crew");
    expect(busy.status).toBe(409);
    expect(busy.body.error.message).toMatch(/apps/);
    expect((await olga.req("GET", "/api/v1/teams/crew")).status).toBe(200);

    const personal = await olga.req("DELETE", "/api/v1/teams/olga");
    expect(personal.status).toBe(409);
    expect((await olga.req("GET", "/api/v1/teams/olga")).status).toBe(200);
  });

  it("deletes an empty team (owner), after which it is gone for everyone", async () => {
    const olga = await as("olga");
    expect((await olga.req("POST", "/api/v1/teams", { name: "short-lived" })).status).toBe(201);
    expect((await olga.req("DELETE", "/api/v1/teams/short-lived")).status).toBe(204);
    expect((await olga.req("GET", "/api/v1/teams/short-lived")).status).toBe(404);
    // The name is free again.
    expect((await (await as("otto")).req("POST", "/api/v1/teams", { name: "short-lived" })).status).toBe(201);
  });
});

describe("invitations", () => {
  let token = "";

  beforeAll(async () => {
    const olga = await as("olga");
    const r = await olga.req("POST", "/api/v1/teams/crew/invitations", { email: "Ivan@Example.com", role: "viewer" });
    expect(r.status).toBe(201);
    token = r.body.token;
  });

  it("returns the secret token and accept path once; listings never show it", async () => {
    const olga = await as("olga");
    expect(token).toMatch(/^bi_[A-Za-z0-9_-]{43}$/);
    const list = await olga.req("GET", "/api/v1/teams/crew/invitations");
    expect(list.status).toBe(200);
    const row = list.body.find((i: { email: string }) => i.email === "ivan@example.com");
    expect(row).toMatchObject({ role: "viewer", acceptedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(token);
    const stored = await srv.cp.services.db.invitation.findFirst({ where: { email: "ivan@example.com" } });
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it("can be looked up without signing in (team, email, role only)", async () => {
    const r = await new ApiClient(srv.url).req("POST", "/api/v1/invitations/lookup", { token });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(["email", "expiresAt", "role", "team"]);
    expect(r.body).toMatchObject({ team: "crew", email: "ivan@example.com", role: "viewer" });
  });

  it("is bound to the invited email: another signed-in user gets 403 and joins nothing", async () => {
    const otto = await as("otto");
    const r = await otto.req("POST", "/api/v1/invitations/accept", { token });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("forbidden");
    expect((await otto.req("GET", "/api/v1/teams/crew")).status).toBe(404);
    // ...and the invitation is still usable by its addressee.
    expect((await new ApiClient(srv.url).req("POST", "/api/v1/invitations/lookup", { token })).status).toBe(200);
  });

  it("needs a signed-in user to accept", async () => {
    expect((await new ApiClient(srv.url).req("POST", "/api/v1/invitations/accept", { token })).status).toBe(401);
  });

  it("joins the invited user with the invited role", async () => {
    const ivan = await as("ivan");
    const r = await ivan.req("POST", "/api/v1/invitations/accept", { token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ team: "crew", role: "viewer" });
    expect((await ivan.req("GET", "/api/v1/teams/crew")).body.role).toBe("viewer");
  });

  it("is single use: a second accept and a lookup are 404", async () => {
    const ivan = await as("ivan");
    const again = await ivan.req("POST", "/api/v1/invitations/accept", { token });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe("not_found");
    expect((await new ApiClient(srv.url).req("POST", "/api/v1/invitations/lookup", { token })).status).toBe(404);
    const olga = await as("olga");
    const pending = (await olga.req("GET", "/api/v1/teams/crew/invitations")).body.map(
      (i: { email: string }) => i.email,
    );
    expect(pending).not.toContain("ivan@example.com");
  });

  it("expires: an expired invitation is 404 and no longer listed", async () => {
    const olga = await as("olga");
    const inv = await olga.req("POST", "/api/v1/teams/crew/invitations", { email: "eve@example.com" });
    expect(inv.status).toBe(201);
    const expiresIn = new Date(inv.body.expiresAt).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(6 * 86400_000);
    expect(expiresIn).toBeLessThanOrEqual(7 * 86400_000);
    await srv.cp.services.db.invitation.update({
      where: { id: inv.body.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });

    const eve = await as("eve");
    const r = await eve.req("POST", "/api/v1/invitations/accept", { token: inv.body.token });
    expect(r.status).toBe(404);
    expect((await eve.req("GET", "/api/v1/teams/crew")).status).toBe(404);
    expect(
      (await new ApiClient(srv.url).req("POST", "/api/v1/invitations/lookup", { token: inv.body.token })).status,
    ).toBe(404);
    const pending = (await olga.req("GET", "/api/v1/teams/crew/invitations")).body.map((i: { id: string }) => i.id);
    expect(pending).not.toContain(inv.body.id);
  });

  it("can be withdrawn; a withdrawn invitation cannot be accepted", async () => {
    const olga = await as("olga");
    const inv = await olga.req("POST", "/api/v1/teams/crew/invitations", { email: "wanda@example.com" });
    expect((await olga.req("DELETE", `/api/v1/teams/crew/invitations/${inv.body.id}`)).status).toBe(204);
    expect((await olga.req("DELETE", `/api/v1/teams/crew/invitations/${inv.body.id}`)).status).toBe(404);
    const wanda = await as("wanda");
    expect((await wanda.req("POST", "/api/v1/invitations/accept", { token: inv.body.token })).status).toBe(404);
  });

  it("answers junk tokens with 404", async () => {
    const ivan = await as("ivan");
    for (const t of ["nope", `bi_${"A".repeat(43)}`, `${token}x`]) {
      expect((await ivan.req("POST", "/api/v1/invitations/accept", { token: t })).status, t).toBe(404);
    }
  });

  it("refuses inviting someone who is already a member (409)", async () => {
    const olga = await as("olga");
    const r = await olga.req("POST", "/api/v1/teams/crew/invitations", { email: "mia@example.com" });
    expect(r.status).toBe(409);
  });

  it("cannot be used by an admin to hand out ownership", async () => {
    const olga = await as("olga");
    await as("adam");
    expect(
      (await olga.req("POST", "/api/v1/teams/crew/members", { email: "adam@example.com", role: "admin" })).status,
    ).toBe(201);
    const adam = await as("adam");
    const before = await srv.cp.services.db.invitation.count();
    const r = await adam.req("POST", "/api/v1/teams/crew/invitations", {
      email: "newowner@example.com",
      role: "owner",
    });
    expect(r.status).toBe(403);
    const add = await adam.req("POST", "/api/v1/teams/crew/members", { email: "otto@example.com", role: "owner" });
    expect(add.status).toBe(403);
    expect(await srv.cp.services.db.invitation.count()).toBe(before);
    expect(await roleIn("crew", "otto@example.com")).toBeUndefined();
    // An admin may invite non-owners.
    expect(
      (await adam.req("POST", "/api/v1/teams/crew/invitations", { email: "helper@example.com", role: "admin" })).status,
    ).toBe(201);
  });
});

describe("member roles", () => {
  // crew now: olga owner, mia member, ivan viewer, adam admin
  it("lets an admin change non-owners' roles", async () => {
    const adam = await as("adam");
    const r = await adam.req("PATCH", "/api/v1/teams/crew/members/mia@example.com", { role: "viewer" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ email: "mia@example.com", role: "viewer" });
    expect(await roleIn("crew", "mia@example.com")).toBe("viewer");
    expect((await adam.req("PATCH", "/api/v1/teams/crew/members/mia@example.com", { role: "member" })).status).toBe(
      200,
    );
    expect(await roleIn("crew", "mia@example.com")).toBe("member");
  });

  it("addresses members by membership id and user id too", async () => {
    const olga = await as("olga");
    const members = (await olga.req("GET", "/api/v1/teams/crew/members")).body;
    const mia = members.find((m: { email: string }) => m.email === "mia@example.com");
    expect((await olga.req("PATCH", `/api/v1/teams/crew/members/${mia.id}`, { role: "viewer" })).body.role).toBe(
      "viewer",
    );
    expect((await olga.req("PATCH", `/api/v1/teams/crew/members/${mia.userId}`, { role: "member" })).body.role).toBe(
      "member",
    );
  });

  it("does not let an admin touch an owner or grant ownership", async () => {
    const adam = await as("adam");
    const demote = await adam.req("PATCH", "/api/v1/teams/crew/members/olga@example.com", { role: "viewer" });
    expect(demote.status).toBe(403);
    expect(demote.body.error.code).toBe("forbidden");
    expect((await adam.req("DELETE", "/api/v1/teams/crew/members/olga@example.com")).status).toBe(403);
    expect((await adam.req("PATCH", "/api/v1/teams/crew/members/mia@example.com", { role: "owner" })).status).toBe(403);
    expect((await adam.req("PATCH", "/api/v1/teams/crew/members/adam@example.com", { role: "owner" })).status).toBe(
      403,
    );
    expect(await roleIn("crew", "olga@example.com")).toBe("owner");
    expect(await roleIn("crew", "mia@example.com")).toBe("member");
    expect(await roleIn("crew", "adam@example.com")).toBe("admin");
  });

  it("does not let members or viewers manage members", async () => {
    for (const name of ["mia", "ivan"]) {
      const c = await as(name);
      expect(
        (await c.req("PATCH", "/api/v1/teams/crew/members/adam@example.com", { role: "viewer" })).status,
        name,
      ).toBe(403);
      expect((await c.req("POST", "/api/v1/teams/crew/members", { email: "otto@example.com" })).status, name).toBe(403);
      expect((await c.req("DELETE", "/api/v1/teams/crew/members/adam@example.com")).status, name).toBe(403);
    }
    expect(await roleIn("crew", "adam@example.com")).toBe("admin");
    expect(await roleIn("crew", "otto@example.com")).toBeUndefined();
  });

  it("answers an unknown member with 404", async () => {
    const olga = await as("olga");
    expect((await olga.req("PATCH", "/api/v1/teams/crew/members/otto@example.com", { role: "viewer" })).status).toBe(
      404,
    );
    expect((await olga.req("DELETE", "/api/v1/teams/crew/members/nobody@example.com")).status).toBe(404);
  });

  it("keeps the last owner: no self-demotion, no leaving", async () => {
    const olga = await as("olga");
    const demote = await olga.req("PATCH", "/api/v1/teams/crew/members/olga@example.com", { role: "admin" });
    expect(demote.status).toBe(409);
    expect(demote.body.error.message).toMatch(/at least one owner/);
    const leave = await olga.req("DELETE", "/api/v1/teams/crew/members/olga@example.com");
    expect(leave.status).toBe(409);
    expect(await roleIn("crew", "olga@example.com")).toBe("owner");
  });

  it("lets an owner leave once another owner exists", async () => {
    const olga = await as("olga");
    expect((await olga.req("PATCH", "/api/v1/teams/crew/members/adam@example.com", { role: "owner" })).status).toBe(
      200,
    );
    expect(await roleIn("crew", "adam@example.com")).toBe("owner");
    // Owners may demote each other; adam hands it back so olga stays in charge of the rest of this file.
    const adam = await as("adam");
    expect((await adam.req("PATCH", "/api/v1/teams/crew/members/olga@example.com", { role: "admin" })).status).toBe(
      200,
    );
    expect((await adam.req("PATCH", "/api/v1/teams/crew/members/olga@example.com", { role: "owner" })).status).toBe(
      200,
    );
    expect((await adam.req("DELETE", "/api/v1/teams/crew/members/adam@example.com")).status).toBe(204);
    expect(await roleIn("crew", "adam@example.com")).toBeUndefined();
    expect((await adam.req("GET", "/api/v1/teams/crew")).status).toBe(404);
  });

  it("lets any member leave on their own, but nobody leave their personal team", async () => {
    const ivan = await as("ivan");
    expect((await ivan.req("DELETE", "/api/v1/teams/crew/members/ivan@example.com")).status).toBe(204);
    expect((await ivan.req("GET", "/api/v1/teams/crew")).status).toBe(404);
    const own = await ivan.req("DELETE", "/api/v1/teams/ivan/members/ivan@example.com");
    expect(own.status).toBe(409);
    expect((await ivan.req("GET", "/api/v1/teams/ivan")).status).toBe(200);
  });

  it("lets an owner remove a member", async () => {
    const olga = await as("olga");
    expect((await olga.req("DELETE", "/api/v1/teams/crew/members/mia@example.com")).status).toBe(204);
    expect(await roleIn("crew", "mia@example.com")).toBeUndefined();
    expect((await (await as("mia")).req("GET", "/api/v1/apps/crew-app")).status).toBe(404);
  });
});

describe("audit log", () => {
  type Event = {
    action: string;
    target: string;
    actor: string;
    ip: string;
    app: string | null;
    data: Record<string, unknown>;
    createdAt: string;
  };
  let events: Event[] = [];

  beforeAll(async () => {
    const r = await (await as("olga")).req("GET", "/api/v1/teams/crew/audit");
    expect(r.status).toBe(200);
    events = r.body;
  });

  function find(action: string, target: string): Event | undefined {
    return events.find((e) => e.action === action && e.target === target);
  }

  it("records every change above with who did it and from where", () => {
    const expected: [string, string, string][] = [
      ["team.create", "crew", "olga@example.com"],
      ["member.add", "mia@example.com", "olga@example.com"],
      ["invitation.create", "later@example.com", "olga@example.com"],
      ["app.create", "crew-app", "olga@example.com"],
      ["invitation.create", "ivan@example.com", "olga@example.com"],
      ["invitation.accept", "ivan@example.com", "ivan@example.com"],
      ["invitation.revoke", "wanda@example.com", "olga@example.com"],
      ["member.add", "adam@example.com", "olga@example.com"],
      ["invitation.create", "helper@example.com", "adam@example.com"],
      ["member.role", "mia@example.com", "adam@example.com"],
      ["member.role", "adam@example.com", "olga@example.com"],
      ["member.leave", "adam@example.com", "adam@example.com"],
      ["member.leave", "ivan@example.com", "ivan@example.com"],
      ["member.remove", "mia@example.com", "olga@example.com"],
    ];
    for (const [action, target, actor] of expected) {
      const e = events.find((x) => x.action === action && x.target === target && x.actor === actor);
      expect(e, `${action} ${target} by ${actor}`).toBeDefined();
      expect(e?.ip, `${action} ${target}`).toMatch(/127\.0\.0\.1/);
    }
    expect(find("app.create", "crew-app")?.app).toBe("crew-app");
    expect(find("member.role", "adam@example.com")?.data).toEqual({ from: "admin", to: "owner" });
  });

  it("records no event for refused changes", () => {
    expect(events.filter((e) => e.actor === "mia@example.com" || e.actor === "otto@example.com")).toEqual([]);
    expect(find("invitation.create", "newowner@example.com")).toBeUndefined();
  });

  it("lists newest first and filters by action prefix", async () => {
    const times = events.map((e) => e.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    const members = await (await as("olga")).req("GET", "/api/v1/teams/crew/audit?action=member.");
    expect(members.body.length).toBeGreaterThanOrEqual(5);
    expect(members.body.every((e: Event) => e.action.startsWith("member."))).toBe(true);
    const limited = await (await as("olga")).req("GET", "/api/v1/teams/crew/audit?limit=2");
    expect(limited.body).toHaveLength(2);
  });

  it("does not mix in other teams' events", () => {
    expect(events.some((e) => e.target === "short-lived")).toBe(false);
    expect(events.some((e) => e.action === "user.signup")).toBe(false);
  });

  it("is readable by admins and owners only: viewer and member 403, outsider 404", async () => {
    const olga = await as("olga");
    await as("vera");
    await as("max");
    await as("ada");
    expect(
      (await olga.req("POST", "/api/v1/teams/crew/members", { email: "vera@example.com", role: "viewer" })).status,
    ).toBe(201);
    expect(
      (await olga.req("POST", "/api/v1/teams/crew/members", { email: "max@example.com", role: "member" })).status,
    ).toBe(201);
    expect(
      (await olga.req("POST", "/api/v1/teams/crew/members", { email: "ada@example.com", role: "admin" })).status,
    ).toBe(201);
    const viewer = await (await as("vera")).req("GET", "/api/v1/teams/crew/audit");
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.code).toBe("forbidden");
    expect((await (await as("max")).req("GET", "/api/v1/teams/crew/audit")).status).toBe(403);
    const admin = await (await as("ada")).req("GET", "/api/v1/teams/crew/audit");
    expect(admin.status).toBe(200);
    expect(admin.body.length).toBeGreaterThan(events.length);
    expect((await (await as("otto")).req("GET", "/api/v1/teams/crew/audit")).status).toBe(404);
  });
});
