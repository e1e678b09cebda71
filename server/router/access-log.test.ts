import { describe, expect, it } from "vitest";
import { AccessLogParser, bareHost } from "./access-log.ts";

const roundtrip = (id: string, upstream: string) =>
  JSON.stringify({
    level: "debug",
    ts: 1700000000.5,
    logger: "http.handlers.reverse_proxy",
    msg: "upstream roundtrip",
    upstream,
    request: { host: "a.test", headers: { "X-Request-Id": [id] } },
    status: 200,
  });

const access = (id: string | undefined, host = "A.test:8080", uri = "/x/y?token=secret") =>
  JSON.stringify({
    level: "info",
    ts: 1700000000.5,
    logger: "http.log.access.berth",
    msg: "handled request",
    request: { remote_ip: "127.0.0.1", method: "POST", host, uri, headers: {} },
    duration: 0.0123456,
    size: 42,
    status: 201,
    resp_headers: id ? { "X-Request-Id": [id] } : {},
  });

describe("AccessLogParser", () => {
  it("joins the upstream from the roundtrip line and labels the app by host", () => {
    const p = new AccessLogParser();
    p.setHosts(new Map([["a.test", "shop"]]));
    expect(p.parse(roundtrip("id-1", "127.0.0.1:4001"))).toBeUndefined();
    expect(p.parse(access("id-1"))).toEqual({
      access: {
        app: "shop",
        host: "a.test",
        method: "POST",
        path: "/x/y",
        status: 201,
        durationMs: 12.346,
        bytes: 42,
        upstream: "127.0.0.1:4001",
        requestId: "id-1",
        at: "2023-11-14T22:13:20.500Z",
      },
    });
    // The join entry is consumed: a replayed access line does not get an upstream again.
    const again = p.parse(access("id-1"));
    expect(again && "access" in again && "upstream" in again.access).toBe(false);
  });

  it("leaves app and upstream out for unknown hosts and Caddy's own answers", () => {
    const p = new AccessLogParser();
    const r = p.parse(access(undefined, "nowhere.test"));
    expect(r).toEqual({ access: expect.objectContaining({ host: "nowhere.test", status: 201 }) });
    expect(r && "access" in r && "app" in r.access).toBe(false);
    expect(r && "access" in r && "upstream" in r.access).toBe(false);
  });

  it("passes Caddy warnings through, drops debug chatter and garbage", () => {
    const p = new AccessLogParser();
    expect(p.parse("not json")).toBeUndefined();
    expect(p.parse("[1,2]")).toBeUndefined();
    expect(
      p.parse(JSON.stringify({ level: "debug", logger: "http.handlers.reverse_proxy", msg: "selected upstream" })),
    ).toBeUndefined();
    expect(p.parse(JSON.stringify({ level: "warn", logger: "http", msg: "careful" }))).toMatchObject({
      other: { level: "warn", logger: "http", msg: "careful" },
    });
  });
});

describe("bareHost", () => {
  it.each([
    ["a.test", "a.test"],
    ["A.Test:8080", "a.test"],
    ["127.0.0.1:80", "127.0.0.1"],
    ["[::1]:80", "::1"],
    ["", ""],
  ])("%j → %j", (input, out) => expect(bareHost(input)).toBe(out));
});
