import { describe, expect, it } from "vitest";
import { addonClientUrl } from "./addons-client.ts";
import { clientCommand } from "../../server/addons/client.ts";

describe("addons:psql / addons:redis-cli", () => {
  it("asks the run socket for a client, never sends a command", () => {
    const u = addonClientUrl("https://berth.example", "shop", "psql", "postgres-1a2b3c4d", {
      tty: false,
      cols: 80,
      rows: 24,
      timeoutSeconds: 60,
    });
    expect(u.protocol).toBe("wss:");
    expect(u.pathname).toBe("/api/v1/apps/shop/run");
    expect(u.searchParams.get("client")).toBe("psql");
    expect(u.searchParams.get("addon")).toBe("postgres-1a2b3c4d");
    expect(u.searchParams.getAll("cmd")).toEqual([]);
    expect(
      addonClientUrl("http://x", "a", "redis-cli", undefined, {
        tty: true,
        cols: 1,
        rows: 1,
        timeoutSeconds: 1,
      }).searchParams.has("addon"),
    ).toBe(false);
  });

  it("the server's client command names only variables, and refuses odd addresses", () => {
    const pg = clientCommand("psql", "10.0.0.5", 5432);
    expect(pg).toContain('PGPASSWORD="$BERTH_PG_PASSWORD"');
    expect(pg).toMatch(/exec psql$/);
    const r = clientCommand("redis-cli", "10.0.0.5", 6379);
    expect(r).toContain('REDISCLI_AUTH="$BERTH_REDIS_PASSWORD"');
    expect(r).not.toMatch(/ -a /);
    expect(() => clientCommand("psql", "x';rm -rf /;'", 1)).toThrow();
    expect(() => clientCommand("psql", "10.0.0.5", 0)).toThrow();
  });
});
