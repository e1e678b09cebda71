import { describe, expect, it } from "vitest";
import {
  KINDS,
  POSTGRES_PLANS,
  REDIS_PLANS,
  addonPlan,
  credentialVars,
  isAddonKind,
  newAddonName,
  newPostgresCredentials,
  postgresCommand,
  postgresUrl,
} from "./catalog.ts";

describe("add-on catalog", () => {
  it("allows only the listed kinds and plans (no prototype keys)", () => {
    expect(isAddonKind("postgres")).toBe(true);
    expect(isAddonKind("redis")).toBe(true);
    for (const k of ["mysql", "", "constructor", "__proto__"]) expect(isAddonKind(k)).toBe(false);
    expect(addonPlan("redis", "small")).toEqual(REDIS_PLANS.small);
    expect(addonPlan("postgres", "small")).toEqual(POSTGRES_PLANS.small);
    for (const p of ["huge", "constructor", "toString", "__proto__", ""]) expect(addonPlan("postgres", p)).toBeNull();
  });

  it("generates names, credentials and URLs that need no escaping and never repeat", () => {
    const name = newAddonName("postgres");
    expect(name).toMatch(/^postgres-[a-f0-9]{8}$/);
    const a = newPostgresCredentials();
    const b = newPostgresCredentials();
    expect(a.user).toMatch(/^u[a-f0-9]{16}$/);
    expect(a.database).toMatch(/^d[a-f0-9]{16}$/);
    expect(a.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.password).not.toBe(b.password);
    expect(postgresUrl(a, "10.88.1.1", 31000)).toBe(`postgres://${a.user}:${a.password}@10.88.1.1:31000/${a.database}`);
    expect(credentialVars(a)).toEqual({
      BERTH_PG_USER: a.user,
      BERTH_PG_PASSWORD: a.password,
      BERTH_PG_DB: a.database,
    });
  });

  it("the command carries no credentials, drops to the postgres user, and applies the plan", () => {
    const cmd = postgresCommand(POSTGRES_PLANS.standard!);
    expect(cmd).toContain('exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$B/postgres"');
    expect(cmd).toContain("max_connections=60");
    expect(cmd).toContain("shared_buffers=256MB");
    expect(cmd).toContain("-A scram-sha-256");
    expect(cmd).not.toMatch(/trust/);
    // The password variable is gone before the server starts.
    expect(cmd.indexOf("unset BERTH_PG_PASSWORD")).toBeLessThan(cmd.indexOf("exec setpriv"));
  });

  it("redis: password only in a 0600 file and REDIS_URL, persistence on, runs as the redis user", () => {
    const vars = KINDS.redis.newVars();
    const pw = vars.BERTH_REDIS_PASSWORD ?? "";
    expect(pw).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(KINDS.redis.url(vars, "10.88.1.1", 31001)).toBe(`redis://:${pw}@10.88.1.1:31001`);
    const cmd = KINDS.redis.command(REDIS_PLANS.small!);
    expect(cmd).toContain("appendonly yes");
    expect(cmd).toContain("requirepass %s");
    expect(cmd).toContain("maxmemory 192mb");
    expect(cmd).toContain("exec setpriv --reuid=redis");
    expect(cmd.indexOf("unset BERTH_REDIS_PASSWORD")).toBeLessThan(cmd.indexOf("exec setpriv"));
    expect(KINDS.postgres.url({ BERTH_PG_USER: "u1", BERTH_PG_PASSWORD: "p", BERTH_PG_DB: "d1" }, "h", 1)).toBe(
      "postgres://u1:p@h:1/d1",
    );
  });
});
