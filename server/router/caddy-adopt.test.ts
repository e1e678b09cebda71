import { describe, expect, it } from "vitest";
import { buildCaddyConfig } from "./caddy-config.ts";
import {
  adminListenOf,
  decideCaddyStart,
  listenPortOf,
  parseCaddyRecord,
  type CaddyFindings,
} from "./caddy-adopt.ts";

const ADMIN = "127.0.0.1:20190";
const found = (f: Partial<CaddyFindings>): CaddyFindings => ({
  record: { admin: ADMIN },
  ourProcessAlive: true,
  answeredAdmin: ADMIN,
  wantedAdminPort: undefined,
  haveLastConfig: true,
  ...f,
});

describe("decideCaddyStart", () => {
  it("adopts our live caddy answering on the recorded admin address", () => {
    expect(decideCaddyStart(found({}))).toEqual({ action: "adopt", admin: ADMIN });
    expect(decideCaddyStart(found({ wantedAdminPort: 20190 }))).toEqual({ action: "adopt", admin: ADMIN });
  });

  it("launches from the last config when no caddy of ours runs", () => {
    expect(decideCaddyStart(found({ ourProcessAlive: false, answeredAdmin: undefined }))).toEqual({
      action: "launch",
      stopOld: false,
      from: "last",
    });
  });

  it("launches empty on a fresh data dir", () => {
    expect(
      decideCaddyStart(found({ record: undefined, ourProcessAlive: false, answeredAdmin: undefined, haveLastConfig: false })),
    ).toEqual({ action: "launch", stopOld: false, from: "empty" });
  });

  it("replaces our caddy when its admin API does not answer (hung)", () => {
    expect(decideCaddyStart(found({ answeredAdmin: undefined }))).toEqual({ action: "launch", stopOld: true, from: "last" });
  });

  it("replaces our caddy when the address answering is another config's admin (not the one recorded)", () => {
    expect(decideCaddyStart(found({ answeredAdmin: "127.0.0.1:9999" }))).toMatchObject({ action: "launch", stopOld: true });
  });

  it("does not adopt without a record, even if our process runs", () => {
    expect(decideCaddyStart(found({ record: undefined }))).toMatchObject({ action: "launch", stopOld: true });
  });

  it("replaces our caddy when another admin port is asked for", () => {
    expect(decideCaddyStart(found({ wantedAdminPort: 20191 }))).toMatchObject({ action: "launch", stopOld: true });
  });

  it("never stops a live process that is not ours (pid reused by something else)", () => {
    expect(decideCaddyStart(found({ ourProcessAlive: false }))).toMatchObject({ action: "launch", stopOld: false });
  });
});

describe("config fields", () => {
  const config = buildCaddyConfig({
    listen: { host: "127.0.0.1", port: 18080 },
    adminAddress: ADMIN,
    routes: [{ app: "web", hosts: ["web.localhost"], maintenance: false, upstreams: ["10.0.0.2:31000"] }],
  });

  it("reads the admin address and the HTTP listener's port", () => {
    expect(adminListenOf(config)).toBe(ADMIN);
    expect(listenPortOf(config)).toBe(18080);
    // The same through a JSON round trip (what Caddy's GET /config/ returns).
    expect(listenPortOf(JSON.parse(JSON.stringify(config)))).toBe(18080);
  });

  it("answers undefined for configs without them", () => {
    expect(adminListenOf({})).toBeUndefined();
    expect(adminListenOf(null)).toBeUndefined();
    expect(listenPortOf({ admin: { listen: ADMIN } })).toBeUndefined();
    expect(listenPortOf({ apps: { http: { servers: { berth: { listen: ["127.0.0.1:0"] } } } } })).toBeUndefined();
    expect(listenPortOf({ apps: { http: { servers: { berth: { listen: "127.0.0.1:80" } } } } })).toBeUndefined();
  });
});

describe("parseCaddyRecord", () => {
  it("accepts a loopback admin address only", () => {
    expect(parseCaddyRecord(JSON.stringify({ admin: ADMIN }))).toEqual({ admin: ADMIN });
    expect(parseCaddyRecord(JSON.stringify({ admin: "0.0.0.0:2019" }))).toBeUndefined();
    expect(parseCaddyRecord(JSON.stringify({ admin: "unix//tmp/x" }))).toBeUndefined();
    expect(parseCaddyRecord("{not json")).toBeUndefined();
    expect(parseCaddyRecord(undefined)).toBeUndefined();
  });
});
