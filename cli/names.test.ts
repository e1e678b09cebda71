// The CLI checks names with shared/names.ts, the server with zod schemas built from the same constants: these tests
// prove both accept and refuse the same names with the same reason.
import { describe, expect, it } from "vitest";
import { RESERVED_NAMES as SERVER_RESERVED, ResourceId, ResourceName } from "../server/validation/names.ts";
import { ROLES as SERVER_ROLES } from "../server/teams/roles.ts";
import { checkName, isResourceId, nameProblem, RESERVED_NAMES, ROLES } from "./names.ts";

const SAMPLES = [
  "shop",
  "my-app-2",
  "a",
  "ab",
  "Shop",
  "2shop",
  "shop-",
  "sh--op",
  "shop_1",
  "x".repeat(30),
  "x".repeat(31),
  "",
  "-shop",
  "shop.example",
  ...SERVER_RESERVED,
];

describe("CLI name rules", () => {
  it("accept and refuse exactly what the server does, with the server's reason", () => {
    for (const name of SAMPLES) {
      const server = ResourceName.safeParse(name);
      const why = nameProblem(name);
      expect(why === null, name).toBe(server.success);
      if (!server.success) expect(why, name).toBe(server.error.issues[0]?.message);
    }
  });

  it("have the server's reserved names and roles", () => {
    expect([...RESERVED_NAMES].sort()).toEqual([...SERVER_RESERVED].sort());
    expect(ROLES).toEqual(SERVER_ROLES);
  });

  it("check ids like the server", () => {
    for (const id of ["cm3abcdefghijklmnopqrstu", "short", "CM3ABCDEFGHIJKLMNOPQRSTU", "cm3abc/../x", "a".repeat(33)]) {
      expect(isResourceId(id), id).toBe(ResourceId.safeParse(id).success);
    }
  });

  it("throws a usage error naming the kind and the reason", () => {
    expect(() => checkName("team", "apps")).toThrow(/invalid team name "apps": is reserved/);
    expect(checkName("app", "shop")).toBe("shop");
  });
});
