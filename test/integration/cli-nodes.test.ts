// `berth nodes`, `nodes:join-command`, `nodes:remove` and `nodes:address` through the real binary.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { connectRawAgent, registerParams, type RawAgent } from "../helpers/raw-agent.ts";
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
const agents: RawAgent[] = [];
afterAll(async () => {
  for (const a of agents) a.close();
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
      expect(human.stdout).toMatch(
        /cli-userns-on\s+ready\s+127\.0\.0\.1(?: \(unroutable: [^)]*\))?\s+4\s+8192 MB\s+on\b/,
      );
      expect(human.stdout).toMatch(
        /cli-userns-off\s+ready\s+127\.0\.0\.1(?: \(unroutable: [^)]*\))?\s+4\s+8192 MB\s+off\b/,
      );
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

describe("berth nodes:remove and nodes:address", () => {
  let agent: RawAgent;
  beforeAll(async () => {
    const r = await runBerth(["nodes:join-command", "-t", team, "--json"], { url: srv.url, token: userToken, home });
    agent = await connectRawAgent(srv.url, JSON.parse(r.stdout).token, registerParams("cli-node", "10.9.9.9"));
    agents.push(agent);
  });

  it("lists a node seen on loopback as unroutable, with the reason", async () => {
    const r = await runBerth(["nodes"], { url: srv.url, token: userToken, home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cli-node\s+ready\s+127\.0\.0\.1 \(unroutable: 127\.0\.0\.1 is a loopback address\)/);
    const json = JSON.parse((await runBerth(["nodes", "--json"], { url: srv.url, token: userToken, home })).stdout);
    expect(json[0]).toMatchObject({ name: "cli-node", address: "127.0.0.1", reportedAddress: "10.9.9.9" });
  });

  it("sets a node's address for the instance admin only, refusing loopback", async () => {
    const user = await runBerth(["nodes:address", "cli-node", "10.9.9.9"], { url: srv.url, token: userToken, home });
    expect(user.code).toBe(1);
    expect(user.stderr).toContain("only the instance admin");
    const loop = await runBerth(["nodes:address", "cli-node", "127.0.0.2"], { url: srv.url, token: adminToken, home });
    expect(loop.code).toBe(1);
    expect(loop.stderr).toContain("loopback");
    const set = await runBerth(["nodes:address", "cli-node", "10.9.9.9"], { url: srv.url, token: adminToken, home });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.trim()).toBe("cli-node is routed at 10.9.9.9");
    const cleared = await runBerth(["nodes:address", "cli-node", "--clear", "--json"], {
      url: srv.url,
      token: adminToken,
      home,
    });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ address: "127.0.0.1", addressOverride: null });
    const audit = await srv.cp.services.db.auditEvent.count({
      where: { action: "node.address.set", target: "cli-node" },
    });
    expect(audit).toBe(1);
  });

  it("removes a node only with --confirm NAME; its agent is disconnected", async () => {
    const unconfirmed = await runBerth(["nodes:remove", "cli-node"], { url: srv.url, token: userToken, home });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain("--confirm cli-node");
    const wrong = await runBerth(["nodes:remove", "cli-node", "--confirm", "other"], {
      url: srv.url,
      token: userToken,
      home,
    });
    expect(wrong.code).toBe(2);
    expect(await srv.cp.services.db.node.count({ where: { name: "cli-node" } })).toBe(1);
    const r = await runBerth(["nodes:remove", "cli-node", "--confirm", "cli-node"], {
      url: srv.url,
      token: userToken,
      home,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Removed node cli-node");
    expect(r.stdout).toContain("revoke the token");
    expect(await agent.closed).toBeGreaterThan(0);
    expect(await srv.cp.services.db.node.count({ where: { name: "cli-node" } })).toBe(0);
  });
});
