// The API's error boundary without a database: a database that fails must never leak into the response.
import { describe, expect, it, vi } from "vitest";
import { loadConfig } from "../config.ts";
import type { Services } from "../context.ts";
import type { Db } from "../db/client.ts";
import type { Logger } from "../logger.ts";
import { newToken } from "../auth/secrets.ts";
import { StreamHub } from "../ws/hub.ts";
import { AccessEvents } from "../auth/access-events.ts";
import { PlatformHealth } from "../health/platform-health.ts";
import { StatsHistory } from "../stats/history.ts";
import { MAX_BODY_BYTES, createApi } from "./api.ts";
// After the API: it loads @hono/zod-openapi, which must extend zod before the name schemas the log store uses exist.
import { AppLogs } from "../logs/app-logs.ts";
import { StackRebuilds } from "../builds/stacks/rebuild-job.ts";
import { SchedulerKick } from "../scheduler/kick.ts";
import { AgentControlSeam } from "../nodes/agent-control.ts";
import { AgentHub } from "../nodes/agent-hub.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { AddonImages } from "../addons/image.ts";

const SECRET = "SQLITE_IOERR: disk I/O error at /var/lib/berth/berth.db (tokenHash=deadbeef)";

function setup() {
  const dbCalls: string[] = [];
  // Every model method rejects with an error whose message must stay server-side.
  const db = new Proxy(
    {},
    {
      get: (_t, model) =>
        new Proxy(
          {},
          {
            get: (_m, method) => () => {
              dbCalls.push(`${String(model)}.${String(method)}`);
              return Promise.reject(new Error(SECRET));
            },
          },
        ),
    },
  ) as unknown as Db;
  const log = {
    error: vi.fn(),
    info: vi.fn(),
    warn: vi.fn(),
    debug: vi.fn(),
    child: () => log,
  } as unknown as Logger & {
    error: ReturnType<typeof vi.fn>;
  };
  const config = loadConfig({ BERTH_DATA_DIR: "/nonexistent" });
  const base = {
    db,
    config,
    log,
    hub: new StreamHub(log),
    access: new AccessEvents(log),
    registry: () => {
      throw new Error("no registry in this test");
    },
    health: new PlatformHealth(log),
    stats: new StatsHistory(),
    logs: new AppLogs(config),
    stacks: new StackRebuilds({ config, log }),
    schedulerKick: new SchedulerKick(),
    agentControl: new AgentControlSeam(),
  };
  const parts = Object.assign(base, { agents: new AgentHub(base), addonImages: new AddonImages(base) });
  const services: Services = Object.assign(parts, { scheduler: new Scheduler(parts) });
  return { api: createApi(services), log, dbCalls };
}

describe("API error boundary", () => {
  it("answers an unexpected failure with a generic 500 and logs the real error", async () => {
    const { api, log, dbCalls } = setup();
    const res = await api.request("/api/v1/session", { headers: { authorization: `Bearer ${newToken("api")}` } });
    expect(dbCalls).toContain("apiToken.findUnique");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: "internal", message: "internal error" } });
    for (const leak of ["SQLITE", "berth.db", "tokenHash", "deadbeef"]) expect(text).not.toContain(leak);
    expect(log.error).toHaveBeenCalledTimes(1);
    const [fields, msg] = log.error.mock.calls[0] as [{ err: Error; path: string; requestId: string }, string];
    expect(msg).toBe("unexpected API error");
    expect(fields.err.message).toBe(SECRET);
    expect(fields.path).toBe("/api/v1/session");
    expect(fields.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("answers expected errors with their code and does not log them as failures", async () => {
    const { api, log, dbCalls } = setup();
    const res = await api.request("/api/v1/apps");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "authentication required" } });
    expect(dbCalls).toEqual([]);
    expect(log.error).not.toHaveBeenCalled();
  });

  it("maps malformed JSON to 400 bad_request", async () => {
    const { api, log } = setup();
    const res = await api.request("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"email": "a@example.com", ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_request");
    expect(log.error).not.toHaveBeenCalled();
  });

  it("maps schema failures to 422 naming the field", async () => {
    const { api } = setup();
    const res = await api.request("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "not-an-email", password: "x" }),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: { code: "validation_failed", message: "email: invalid email address" } });
  });

  it("refuses bodies over the limit with 413 and closes the connection", async () => {
    const { api } = setup();
    const res = await api.request("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(MAX_BODY_BYTES + 1) },
      body: "x".repeat(MAX_BODY_BYTES + 1),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });

  it("echoes a bounded request id", async () => {
    const { api } = setup();
    const res = await api.request("/api/v1/apps", { headers: { "x-request-id": "r".repeat(200) } });
    expect(res.headers.get("x-request-id")).toBe("r".repeat(64));
    const fresh = await api.request("/api/v1/apps");
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
