// `berth config`, `config:set`, `config:unset` through the real binary.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";

let srv: TestServer;
let home: string;
let token = "";
const berth = (args: string[]) => runBerth(args, { url: srv.url, token, home });

beforeAll(async () => {
  srv = await startTestServer();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-config-"));
  const owner = new ApiClient(srv.url);
  await owner.signUp("cli-config@example.com");
  token = (await owner.tokenClient()).token;
  expect((await owner.req("POST", "/api/v1/apps", { name: "cfg-cli" })).status).toBe(201);
});
afterAll(async () => {
  fs.rmSync(home, { recursive: true, force: true });
  await srv.close();
});

describe("berth config", () => {
  it("sets, lists and unsets vars", async () => {
    const set = await berth(["config:set", "GREETING=hello=world", "MODE=prod", "-a", "cfg-cli"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("Config changed for cfg-cli");
    const json = await berth(["config", "-a", "cfg-cli", "--json"]);
    expect(JSON.parse(json.stdout).map((v: { key: string; value: string }) => [v.key, v.value])).toEqual([
      ["GREETING", "hello=world"],
      ["MODE", "prod"],
    ]);
    const unset = await berth(["config:unset", "MODE", "-a", "cfg-cli"]);
    expect(unset.code).toBe(0);
    const table = await berth(["config", "-a", "cfg-cli"]);
    expect(table.stdout).toContain("GREETING");
    expect(table.stdout).not.toContain("MODE");
  });

  it("refuses malformed assignments and platform keys with one clear line", async () => {
    const bad = await berth(["config:set", "NOEQUALS", "-a", "cfg-cli"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^berth: expected KEY=value/);
    const port = await berth(["config:set", "PORT=80", "-a", "cfg-cli"]);
    expect(port.code).toBe(1);
    expect(port.stderr).toContain("PORT is set by the platform");
  });
});
