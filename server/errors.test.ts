import { describe, expect, it } from "vitest";
import { BerthError, ERROR_STATUS, errors, toErrorResponse, unlessDiskFull, type ErrorCode } from "./errors.ts";

describe("error codes", () => {
  // Spelled out so a changed status in errors.ts fails here (CONTRACT.md lists the statuses).
  const expected: Record<ErrorCode, number> = {
    bad_request: 400,
    unauthorized: 401,
    forbidden: 403,
    csrf_failed: 403,
    not_found: 404,
    conflict: 409,
    payload_too_large: 413,
    validation_failed: 422,
    rate_limited: 429,
    internal: 500,
    unavailable: 503,
  };

  it("covers exactly the codes in this table", () => {
    expect(Object.keys(ERROR_STATUS).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected) as [ErrorCode, number][])("%s -> %i", (code, status) => {
    const err = new BerthError(code, "something specific");
    expect(err.status).toBe(status);
    expect(err).toBeInstanceOf(Error);
    expect(toErrorResponse(err)).toEqual({
      status,
      body: { error: { code, message: "something specific" } },
      unexpected: false,
    });
  });

  it("shorthands produce the right codes and messages", () => {
    const cases: [BerthError, ErrorCode, number, string][] = [
      [errors.badRequest("bad"), "bad_request", 400, "bad"],
      [errors.unauthorized(), "unauthorized", 401, "authentication required"],
      [errors.unauthorized("token revoked"), "unauthorized", 401, "token revoked"],
      [errors.forbidden(), "forbidden", 403, "your role does not allow this"],
      [errors.notFound("app 'x'"), "not_found", 404, "app 'x' not found"],
      [errors.conflict("taken"), "conflict", 409, "taken"],
      [errors.validation("name: bad"), "validation_failed", 422, "name: bad"],
      [errors.rateLimited("slow down"), "rate_limited", 429, "slow down"],
      [errors.unavailable("registry down"), "unavailable", 503, "registry down"],
    ];
    for (const [err, code, status, message] of cases) {
      expect(err.code).toBe(code);
      expect(err.status).toBe(status);
      expect(err.message).toBe(message);
    }
  });

  it("keeps the cause for logs without putting it in the response", () => {
    const cause = new Error("SQLITE_BUSY at /var/lib/berth/berth.db");
    const err = new BerthError("conflict", "try again", { cause });
    expect(err.cause).toBe(cause);
    expect(JSON.stringify(toErrorResponse(err).body)).not.toContain("SQLITE");
  });
});

describe("unexpected errors", () => {
  const secret = "SQLITE_CONSTRAINT: UNIQUE failed: users.passwordHash=scrypt$... at /var/lib/berth/berth.db";
  const thrown: [string, unknown][] = [
    ["Error", new Error(secret)],
    ["TypeError", new TypeError(secret)],
    ["error-shaped object", { code: "conflict", status: 409, message: secret }],
    ["string", secret],
    ["null", null],
    ["undefined", undefined],
  ];
  it.each(thrown)("maps a thrown %s to a generic 500 that leaks nothing", (_label, value) => {
    const r = toErrorResponse(value);
    expect(r.status).toBe(500);
    expect(r.unexpected).toBe(true);
    expect(r.body).toEqual({ error: { code: "internal", message: "internal error" } });
    const text = JSON.stringify(r.body);
    for (const leak of ["SQLITE", "berth.db", "scrypt", "passwordHash", "at "]) expect(text).not.toContain(leak);
  });
});

describe("a full disk", () => {
  const full: [string, unknown][] = [
    [
      "ENOSPC from fs",
      Object.assign(new Error("ENOSPC: no space left on device, write '/var/lib/berth/x'"), { code: "ENOSPC" }),
    ],
    ["SQLITE_FULL from the driver", Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" })],
    [
      "wrapped by Prisma",
      new Error("Invalid `prisma.app.create()` invocation", {
        cause: new Error("SQLITE_FULL: database or disk is full"),
      }),
    ],
  ];
  it.each(full)("maps %s to 503 with a message that says so and leaks no path", (_label, value) => {
    const r = toErrorResponse(value);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("unavailable");
    expect(r.body.error.message).toMatch(/disk is full/);
    expect(JSON.stringify(r.body)).not.toContain("/var/lib/berth");
  });
  it("lets best-effort writes ignore only a full disk", () => {
    expect(() =>
      unlessDiskFull(Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" })),
    ).not.toThrow();
    expect(() => unlessDiskFull(new Error("SQLITE_BUSY"))).toThrow("SQLITE_BUSY");
  });
  it("keeps other errors generic", () => {
    expect(toErrorResponse(new Error("SQLITE_BUSY")).status).toBe(500);
  });
});
