import { describe, expect, it } from "vitest";
import { PERMISSIONS, ROLES, can, canChangeMember, isRole, roleRank, type Action, type Role } from "./roles.ts";

// The written matrix (docs/permissions.md), spelled out cell by cell rather than derived from PERMISSIONS,
// so changing a minimum role in roles.ts without updating this table fails.
const MATRIX: Record<Action, Record<Role, boolean>> = {
  "team:read": { viewer: true, member: true, admin: true, owner: true },
  "app:read": { viewer: true, member: true, admin: true, owner: true },
  "members:read": { viewer: true, member: true, admin: true, owner: true },
  "app:deploy": { viewer: false, member: true, admin: true, owner: true },
  "app:exec": { viewer: false, member: true, admin: true, owner: true },
  "app:scale": { viewer: false, member: true, admin: true, owner: true },
  "app:config": { viewer: false, member: true, admin: true, owner: true },
  "config:reveal": { viewer: false, member: true, admin: true, owner: true },
  "app:create": { viewer: false, member: false, admin: true, owner: true },
  "app:update": { viewer: false, member: false, admin: true, owner: true },
  "app:delete": { viewer: false, member: false, admin: true, owner: true },
  "members:manage": { viewer: false, member: false, admin: true, owner: true },
  "invitations:manage": { viewer: false, member: false, admin: true, owner: true },
  "audit:read": { viewer: false, member: false, admin: true, owner: true },
  "nodes:manage": { viewer: false, member: false, admin: true, owner: true },
  "team:delete": { viewer: false, member: false, admin: false, owner: true },
};

describe("permission matrix", () => {
  it("has a row in this test for every action (new actions must be added here)", () => {
    expect(Object.keys(PERMISSIONS).sort()).toEqual(Object.keys(MATRIX).sort());
  });

  const cells = Object.entries(MATRIX).flatMap(([action, row]) =>
    ROLES.map((role) => [action as Action, role, row[role]] as const),
  );
  it.each(cells)("%s as %s -> %s", (action, role, allowed) => {
    expect(can(role, action)).toBe(allowed);
  });

  it("orders roles viewer < member < admin < owner", () => {
    expect(ROLES.map(roleRank)).toEqual([0, 1, 2, 3]);
    expect(roleRank("owner")).toBeGreaterThan(roleRank("admin"));
    expect(roleRank("viewer")).toBeLessThan(roleRank("member"));
  });

  it("recognises only the four roles", () => {
    for (const r of ROLES) expect(isRole(r)).toBe(true);
    for (const r of ["", "Owner", "root", "superadmin", "owner "]) expect(isRole(r)).toBe(false);
  });

  it("is monotonic: a higher role can do everything a lower one can", () => {
    for (const action of Object.keys(MATRIX) as Action[]) {
      for (let i = 1; i < ROLES.length; i++) {
        if (can(ROLES[i - 1] as Role, action)) expect(can(ROLES[i] as Role, action)).toBe(true);
      }
    }
  });
});

describe("canChangeMember", () => {
  const targets: (Role | null)[] = [null, ...ROLES];
  const newRoles: (Role | null)[] = [null, ...ROLES];

  it("viewers and members cannot add, change or remove anyone", () => {
    for (const actor of ["viewer", "member"] as const) {
      for (const t of targets)
        for (const n of newRoles) expect(canChangeMember(actor, t, n), `${actor} ${t}->${n}`).toBe(false);
    }
  });

  it("owners can do everything, including granting and removing ownership", () => {
    for (const t of targets) for (const n of newRoles) expect(canChangeMember("owner", t, n), `${t}->${n}`).toBe(true);
  });

  const adminCases: [Role | null, Role | null, boolean][] = [
    // invitations / adding (no current role)
    [null, "viewer", true],
    [null, "member", true],
    [null, "admin", true],
    [null, "owner", false],
    // role changes among non-owners
    ["viewer", "member", true],
    ["member", "viewer", true],
    ["member", "admin", true],
    ["admin", "member", true],
    ["viewer", "owner", false],
    ["admin", "owner", false],
    // owners are off limits to admins
    ["owner", "admin", false],
    ["owner", "viewer", false],
    ["owner", "owner", false],
    // removal
    ["viewer", null, true],
    ["member", null, true],
    ["admin", null, true],
    ["owner", null, false],
  ];
  it.each(adminCases)("admin: %s -> %s is %s", (target, newRole, allowed) => {
    expect(canChangeMember("admin", target, newRole)).toBe(allowed);
  });
});
