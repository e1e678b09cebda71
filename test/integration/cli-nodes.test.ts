// `berth nodes` and `nodes:join-command` through the real binary.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { startFakeNode } from "../helpers/fake-node.ts";

let srv: TestServer;
let home: string;
let adminToken = "";
let userToken = "";
let team = "";

beforeAll(async () => {
  srv = await startTestServer();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-nodes-"));
  const admin = new ApiClient(srv.url);
  await admin.signUp("nodes-admin@example.com"); // first user: instance admin
  adminToken = (await admin.tokenClient()).token;
  const user = new ApiClient(srv.url);
  await user.signUp("nodes-user@example.com");
  team = (await user.req<any[]>("GET", "/api/v1/teams")).body[0].name;
  userToken = (await user.tokenClient()).token;
});
afterAll(async () => {
  fs.rmSync(home, { recursive: true, force: true });
  await srv.close();
});

describe("berth nodes", () => {
  it("lists no nodes at first", async () => {
    const r = await runBerth(["nodes", "--json"], { url: srv.url, token: userToken, home });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    const human = await runBerth(["nodes"], { url: srv.url, token: userToken, home });
    expect(human.stdout).toContain("No nodes you can see");
  });

  it("prints a join command with a fresh token for the user's team", async () => {
    const r = await runBerth(["nodes:join-command", "-t", team, "--json"], { url: srv.url, token: userToken, home });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.team).toBe(team);
    expect(out.token).toMatch(/^bn_/);
    expect(out.command).toBe(
      `BERTH_CONTROL_PLANE_URL='${srv.url}' BERTH_JOIN_TOKEN='${out.token}' node --import tsx runtime-agent/main.ts`,
    );
    const tokens = await srv.cp.services.db.nodeJoinToken.count({ where: { name: out.name } });
    expect(tokens).toBe(1);
  });

  it("shows whether each node runs containers in user namespaces", async () => {
    const joinToken = (
      await runBerth(["nodes:join-command", "-t", team, "--json"], { url: srv.url, token: userToken, home })
    ).stdout;
    const token = JSON.parse(joinToken).token as string;
    const on = await startFakeNode(srv, { name: "cli-userns-on", joinToken: token });
    const off = await startFakeNode(srv, { name: "cli-userns-off", joinToken: token, userNamespaces: false });
    try {
      const r = await runBerth(["nodes", "--json"], { url: srv.url, token: userToken, home });
      const byName = new Map((JSON.parse(r.stdout) as { name: string }[]).map((n) => [n.name, n]));
      expect(byName.get("cli-userns-on")).toMatchObject({ userNamespaces: true });
      expect(byName.get("cli-userns-off")).toMatchObject({ userNamespaces: false });
      const human = await runBerth(["nodes"], { url: srv.url, token: userToken, home });
      expect(human.stdout.split("\n")[0]).toMatch(/\bUSERNS\b/);
      expect(human.stdout).toMatch(/cli-userns-on\s+ready\s+127\.0\.0\.1\s+4\s+8192 MB\s+on\b/);
      expect(human.stdout).toMatch(/cli-userns-off\s+ready\s+127\.0\.0\.1\s+4\s+8192 MB\s+off\b/);
    } finally {
      await on.stop();
      await off.stop();
    }
  });

  it("refuses a shared join token for a non-admin and a bad team name", async () => {
    const shared = await runBerth(["nodes:join-command"], { url: srv.url, token: userToken, home });
    expect(shared.code).toBe(1);
    expect(shared.stderr.trim().split("\n")).toHaveLength(1);
    const bad = await runBerth(["nodes:join-command", "-t", "$(id)"], { url: srv.url, token: userToken, home });
    expect(bad.code).toBe(2);
    const admin = await runBerth(["nodes:join-command"], { url: srv.url, token: adminToken, home });
    expect(admin.code, admin.stderr).toBe(0);
    expect(admin.stdout).toContain("(shared node)");
  });
});
