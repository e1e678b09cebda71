// Rollouts with real containers (root tier: git push -> buildah -> registry -> scheduler -> real agents on runc/CNI ->
// HAProxy), each under steady load through the router with zero failed requests: a batch rollout never starts more new
// instances at once than its batch, a rolling restart replaces every instance, a rollback serves the old release's
// config again, limits:set replaces instances with the new cgroup limit, and draining a node moves its instances to
// another node.
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { busyboxWebApp } from "../helpers/busybox-app.ts";
import { runBerth } from "../helpers/cli.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { bootRootStack, type RootStack } from "../helpers/root-stack.ts";
import { until } from "../helpers/until.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { silentLogger } from "../../runtime-agent/log.ts";

const APP = "rolly";
const MiB = 1024 * 1024;

let stack: RootStack;
let env2: RootEnv | undefined;
let agent2: ChildProcess | undefined;
let inspector2: OciBackend | undefined;
let home = "";

/** Steady load through the router; every answer that is not a 200 counts as failed. */
function steadyLoad(rate = 20) {
  const results: { status: number; body: string }[] = [];
  const inflight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const p = stack.get().then((r) => {
      results.push(r);
      inflight.delete(p);
    });
    inflight.add(p);
  }, 1000 / rate);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      return {
        total: results.length,
        failed: results.filter((r) => r.status !== 200),
        bodies: results.map((r) => r.body),
      };
    },
  };
}

const releases = async () =>
  (await stack.owner.req<{ version: number; status: string }[]>("GET", `/api/v1/apps/${APP}/releases`)).body;
const deployed = (v: number) =>
  until(`v${v} deployed`, async () => (await releases()).find((r) => r.version === v)?.status === "deployed", 180_000);

describeRoot("rollouts with real containers (batch, restart, rollback, limits, drain)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-rolly-home-"));
    stack = await bootRootStack(APP, busyboxWebApp(), { email: "rolly@example.com", node: "rolly-a" });
    const push = await stack.push();
    expect(push.code, push.out).toBe(0);
    const scaled = await stack.owner.req("PATCH", `/api/v1/apps/${APP}/formation`, {
      updates: [{ type: "web", quantity: 3 }],
    });
    expect(scaled.status).toBe(200);
    await stack.running("web", 3, 1);
  }, 300_000);

  afterAll(async () => {
    if (!stack) return;
    const problems: string[] = [];
    await stack.owner.req("DELETE", `/api/v1/apps/${APP}`).catch(() => undefined);
    if (inspector2) {
      const i2 = inspector2;
      await until("node b's containers gone", async () => (await i2.list()).length === 0, 60_000).catch((e: unknown) =>
        problems.push(String(e)),
      );
    }
    await stopAgent(agent2);
    for (const c of (await inspector2?.list()) ?? [])
      await inspector2?.delete(c.id).catch((e: unknown) => problems.push(String(e)));
    problems.push(...(await stack.close()));
    problems.push(...((await env2?.destroy()) ?? []));
    if (home) fs.rmSync(home, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 240_000);

  it("a batch rollout (batch 1) starts one new instance at a time, with zero failed requests", async () => {
    const set = await stack.owner.req("PATCH", `/api/v1/apps/${APP}/deploy-settings`, { rolloutBatch: 1 });
    expect(set.status).toBe(200);
    const load = steadyLoad();
    const config = await stack.owner.req("PATCH", `/api/v1/apps/${APP}/config`, { set: { GREETING: "two" } });
    expect(config.status).toBe(200);
    // Sampled while it rolls out: new-release instances wanted running but not healthy yet.
    let maxNotReady = 0;
    let sawV2 = false;
    const db = stack.srv.cp.services.db;
    await until(
      "v2 deployed",
      async () => {
        const rows = await db.instance.findMany({
          where: { app: { name: APP }, processType: "web", release: { version: 2 }, desired: "running" },
        });
        sawV2 ||= rows.length > 0;
        maxNotReady = Math.max(maxNotReady, rows.filter((r) => r.state !== "running").length);
        return (await releases()).find((r) => r.version === 2)?.status === "deployed";
      },
      180_000,
    );
    await stack.running("web", 3, 2);
    const { total, failed, bodies } = await load.stop();
    expect(sawV2).toBe(true);
    expect(maxNotReady).toBe(1);
    expect(total).toBeGreaterThan(20);
    expect(failed).toEqual([]);
    expect(bodies.at(-1)).toContain("greeting=two");
  }, 240_000);

  it("a rolling restart replaces every instance with zero failed requests", async () => {
    const before = (await stack.running("web", 3, 2)).map((i) => i.id);
    const load = steadyLoad();
    const r = await runBerth(["ps:restart", "web", "-a", APP, "--wait"], {
      url: stack.srv.url,
      token: stack.token,
      home,
    });
    expect(r.code, r.stderr).toBe(0);
    const after = await until("all replaced", async () => {
      const web = await stack.running("web", 3, 2);
      return web.every((i) => !before.includes(i.id)) && web;
    });
    const { total, failed } = await load.stop();
    expect(after).toHaveLength(3);
    expect(total).toBeGreaterThan(10);
    expect(failed).toEqual([]);
  }, 240_000);

  it("a rollback to v1 serves v1's config again, with zero failed requests", async () => {
    const load = steadyLoad();
    const r = await runBerth(["rollback", "v1", "-a", APP, "--wait"], { url: stack.srv.url, token: stack.token, home });
    expect(r.code, r.stderr).toBe(0);
    await deployed(3);
    await stack.running("web", 3, 3);
    const { total, failed } = await load.stop();
    expect(total).toBeGreaterThan(10);
    expect(failed).toEqual([]);
    expect((await stack.get()).body).toContain("greeting=none");
  }, 240_000);

  it("limits:set replaces the instances with the new memory limit in their cgroup, with zero failed requests", async () => {
    const load = steadyLoad();
    const r = await runBerth(["limits:set", "web", "--memory", "96M", "-a", APP], {
      url: stack.srv.url,
      token: stack.token,
      home,
    });
    expect(r.code, r.stderr).toBe(0);
    const web = await until(
      "instances with 96 MiB",
      async () => {
        const list = await stack.running("web", 3);
        const limits = await Promise.all(
          list.map((i) =>
            stack.inspector.stats(i.id).then(
              (s) => s.memoryLimitBytes,
              () => 0,
            ),
          ),
        );
        return limits.every((l) => l === 96 * MiB) && list;
      },
      180_000,
    );
    const { total, failed } = await load.stop();
    expect(web).toHaveLength(3);
    expect(total).toBeGreaterThan(10);
    expect(failed).toEqual([]);
  }, 240_000);

  it("draining a node moves its instances to another node, with zero failed requests", async () => {
    env2 = await createRootEnv();
    const join = await localJoinToken(stack.srv, "rolly-b");
    const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    const flags = agentFlagsFor(env2, { controlPlane: stack.srv.url, joinToken: join, nodeName: "rolly-b", portBase });
    inspector2 = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    agent2 = spawnAgent(flags);
    const db = stack.srv.cp.services.db;
    const nodeB = await until("node b ready", async () => {
      const n = await db.node.findUnique({ where: { name: "rolly-b" } });
      return n?.state === "ready" && n;
    });
    const nodeA = await db.node.findUniqueOrThrow({ where: { name: "rolly-a" } });
    const load = steadyLoad();
    const drain = await stack.owner.req("POST", `/api/v1/nodes/${nodeA.id}/drain`);
    expect(drain.status, JSON.stringify(drain.body)).toBe(200);
    await until(
      "every instance on node b",
      async () => {
        const rows = await db.instance.findMany({ where: { app: { name: APP }, processType: "web" } });
        return rows.length === 3 && rows.every((r) => r.nodeId === nodeB.id && r.state === "running");
      },
      180_000,
    );
    await until("node a empty", async () => (await stack.inspector.list()).length === 0, 60_000);
    const { total, failed } = await load.stop();
    expect(total).toBeGreaterThan(10);
    expect(failed).toEqual([]);
    expect((await inspector2.list()).filter((c) => c.status === "running")).toHaveLength(3);
    expect((await stack.get()).status).toBe(200);
  }, 300_000);
});
