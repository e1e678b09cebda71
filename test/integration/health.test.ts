import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => srv.close());

describe("control plane basics", () => {
  it("answers /healthz with 200 and the components it runs", async () => {
    const r = await fetch(`${srv.url}/healthz`);
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const body = (await r.json()) as { status: string; components: { name: string; status: string }[] };
    expect(body.status).toBe("ok");
    // No registry, router or local agent in this server: only what it runs is reported.
    expect(body.components.map((c) => [c.name, c.status])).toEqual([
      ["database", "ok"],
      ["nodes", "ok"],
      ["disk", "ok"],
    ]);
  });

  it("serves the OpenAPI document generated from the route schemas", async () => {
    const r = await new ApiClient(srv.url).req<any>("GET", "/api/v1/openapi.json");
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe("3.1.0");
    expect(Object.keys(r.body.paths)).toContain("/api/v1/apps/{app}");
    expect(r.body.components.schemas.CreateApp.properties.name.pattern).toBe("^[a-z][a-z0-9-]{1,29}$");
  });

  it("answers unknown API routes with a JSON 404", async () => {
    const c = new ApiClient(srv.url);
    await c.signUp("health@example.com");
    const r = await c.req<any>("GET", "/api/v1/nope");
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
  });
});
