// Exec sessions with real everything (root tier): git push -> build -> a real agent process -> runc container, then
// `berth ps:exec` (pipes, and a real terminal through a pty) and the exec WebSocket: the instance's hostname, env and
// processes, the pty and its resize, the exit code; a viewer and another team refused; the session ends when the
// member is removed or stays idle; the per-user cap; the audit event without keystrokes.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { busyboxWebApp } from "../helpers/busybox-app.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { runBerth } from "../helpers/cli.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { firstFrame, openAppSocket } from "../helpers/app-socket.ts";
import { berthInPty as berthOnPty, type PtyStep } from "../helpers/pty.ts";
import { addTeamUsers } from "../helpers/team-users.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { silentLogger } from "../../runtime-agent/log.ts";

const APP = "exsh";
const ROOT = path.resolve(import.meta.dirname, "../..");

let env: RootEnv;
let srv: TestServer;
let agent: ChildProcess | undefined;
let inspector: OciBackend;
let home = "";
let repo = "";
const tokens: Record<"owner" | "member" | "viewer" | "stranger", string> = {
  owner: "",
  member: "",
  viewer: "",
  stranger: "",
};
let owner: ApiClient;
let team = "";
let instance = "";

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const berth = (who: keyof typeof tokens, args: string[]) => runBerth(args, { url: srv.url, token: tokens[who], home });

/** A raw exec WebSocket session that answers the shell's cursor queries (test/helpers/app-socket.ts). */
const openSession = (who: keyof typeof tokens, query: string) =>
  openAppSocket(srv.url, "exec", APP, tokens[who], query, { answerCursorQuery: true });
type Session = ReturnType<typeof openSession>;
const started = (s: Session) => firstFrame(s, 20_000);
const type = (s: Session, text: string) => s.ws.send(Buffer.from(text), { binary: true });
const saw = (s: Session, re: RegExp) =>
  until(`output ${re}`, async () => re.test(s.out), 15_000).catch((e: unknown) => {
    throw new Error(`${String(e)}; output ${JSON.stringify(s.out.slice(-500))}, frames ${JSON.stringify(s.frames)}`);
  });

/** `berth` as the member on a real pty (test/helpers/pty.ts). */
const berthInPty = (args: string[], steps: PtyStep[]) =>
  berthOnPty(args, steps, {
    env: {
      ...process.env,
      BERTH_URL: srv.url,
      BERTH_TOKEN: tokens.member,
      XDG_CONFIG_HOME: path.join(home, "config"),
      HOME: home,
    },
    timeoutMs: 60_000,
  });

describeRoot("exec sessions (ps:exec, exec socket) into a real instance", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    env = await createRootEnv();
    srv = await startTestServer({ BERTH_EXEC_MAX_SESSIONS: "2", BERTH_EXEC_IDLE_TIMEOUT: "10" }, { registry: true });
    home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-exec-"));
    owner = new ApiClient(srv.url);
    await owner.signUp("exec-owner@example.com");
    const cast = await addTeamUsers(srv.url, owner, "exec");
    team = cast.team;
    Object.assign(tokens, cast.tokens);
    const join = await localJoinToken(srv, "exec-node");
    const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    const flags = agentFlagsFor(env, { controlPlane: srv.url, joinToken: join, nodeName: "exec-node", portBase });
    inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    agent = spawnAgent(flags);
    await until(
      "node ready",
      async () => (await srv.cp.services.db.node.findUnique({ where: { name: "exec-node" } }))?.state === "ready",
    );
    expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    repo = await makeRepo(busyboxWebApp());
    const push = await git(repo, ["push", remoteUrl(srv.url, APP, tokens.owner), "main"]);
    expect(push.code, push.out).toBe(0);
    const list = await until("a running web instance", async () => {
      const r = await owner.req<any[]>("GET", `/api/v1/apps/${APP}/instances`);
      return r.body.find((i) => i.state === "running" && i.processType === "web");
    });
    instance = list.id;
  }, 300_000);

  afterAll(async () => {
    const problems: string[] = [];
    if (srv && agent) {
      await owner.req("DELETE", `/api/v1/apps/${APP}`).catch(() => undefined);
      await until("containers gone", async () => (await inspector.list()).length === 0, 60_000).catch((e: unknown) =>
        problems.push(String(e)),
      );
    }
    await stopAgent(agent);
    for (const c of (await inspector?.list()) ?? [])
      await inspector.delete(c.id).catch((e: unknown) => problems.push(String(e)));
    await srv?.close();
    problems.push(...((await env?.destroy()) ?? []));
    for (const d of [repo, home]) if (d) fs.rmSync(d, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 180_000);

  it("ps:exec with pipes sees the instance's hostname, env and processes, and returns the exit code", async () => {
    const r = await berth("member", [
      "ps:exec",
      "-a",
      APP,
      "--",
      "/bin/sh",
      "-c",
      "hostname; echo app=$BERTH_APP; ps; tty || true; exit 7",
    ]);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toContain(instance);
    expect(r.stdout).toContain(`app=${APP}`);
    expect(r.stdout).toMatch(/httpd -f -p 5000/);
    expect(r.stdout).toContain("not a tty");
    // stdin is piped through, and EOF closes it.
    const cat = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, "bin/berth.mjs"), "ps:exec", "-a", APP, instance, "--", "/bin/sh", "-c", "wc -c"],
        {
          env: {
            ...process.env,
            BERTH_URL: srv.url,
            BERTH_TOKEN: tokens.member,
            XDG_CONFIG_HOME: path.join(home, "config"),
          },
        },
      );
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", (code) => resolve({ code, out }));
      child.stdin.end(Buffer.alloc(300_000, 0xff));
    });
    expect(cat).toEqual({ code: 0, out: "300000\n" });
  }, 120_000);

  it("ps:exec on a terminal: a pty in the instance, raw mode (Ctrl-C reaches the remote shell), the exit code", async () => {
    const r = await berthInPty(
      ["ps:exec", "-a", APP],
      [
        // busybox ash asks for the cursor position (ESC[6n) at each prompt and swallows what is typed until the
        // answer comes: type only once the prompt's query was seen (and answered, which happens first).
        { after: /Connected to[\s\S]*\x1b\[6n/, send: "tty; stty size; echo ready-$((6*7))\r" },
        { after: /ready-42[\s\S]*\x1b\[6n/, send: "sleep 300\r" },
        // Ctrl-C interrupts the remote sleep, not the CLI; the shell goes on.
        { after: /sleep 300\r*\n/, send: "\x03" },
        { after: /sleep 300\r*\n[\s\S]*\x1b\[6n/, send: "echo after-int; exit 3\r" },
      ],
    );
    expect(r.out).toMatch(/\/dev\/pts\/\d+/);
    expect(r.out).toMatch(/\b\d+ \d+\b/);
    expect(r.out).toContain("after-int");
    expect(r.code, r.out).toBe(3);
  }, 120_000);

  it("the exec socket: stty size follows a resize; the exit code frame", async () => {
    const s = openSession("member", "tty=1&cols=91&rows=27");
    expect(await started(s)).toMatchObject({ type: "started", instance });
    type(s, "stty size\r");
    await saw(s, /27 91/);
    s.ws.send(JSON.stringify({ type: "resize", cols: 132, rows: 43 }));
    await new Promise((r) => setTimeout(r, 200));
    type(s, "stty size; exit 5\r");
    await saw(s, /43 132/);
    expect(await s.closed).toBe(1000);
    expect(s.frames.at(-1)).toEqual({ type: "exit", code: 5 });
  }, 60_000);

  it("refuses a viewer (403) and another team (404), on the socket and through the CLI", async () => {
    const v = openSession("viewer", "tty=0&cmd=id");
    expect(await v.closed).toBe(4403);
    expect(v.frames).toEqual([
      { type: "error", error: { code: "forbidden", message: expect.stringContaining("app:exec") } },
    ]);
    const o = openSession("stranger", "tty=0&cmd=id");
    expect(await o.closed).toBe(4404);
    expect(o.frames[0]).toMatchObject({ type: "error", error: { code: "not_found" } });
    const cli = await berth("viewer", ["ps:exec", "-a", APP, "--", "id"]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("does not allow app:exec");
    expect((await berth("stranger", ["ps:exec", "-a", APP, "--", "id"])).stderr).toContain("not found");
    // Someone else's instance id under your own app name is not found either.
    expect((await berth("member", ["ps:exec", "-a", APP, "nope-1", "--", "id"])).stderr).toContain("not found");
  }, 60_000);

  it("caps open sessions per user, ends idle ones, and audits who/which instance without keystrokes", async () => {
    const a = openSession("owner", "tty=1");
    const b = openSession("owner", "tty=1");
    await started(a);
    await started(b);
    const c = openSession("owner", "tty=1");
    expect(await c.closed).toBe(4429);
    type(a, "echo secret-keystrokes\r");
    await saw(a, /secret-keystrokes\r?\n/);
    type(a, "exit\r");
    expect(await a.closed).toBe(1000);
    // b stays idle past BERTH_EXEC_IDLE_TIMEOUT (10 s).
    expect(await b.closed).toBe(4408);
    expect(b.frames.at(-1)).toEqual({ type: "ended", reason: "idle for too long" });
    const audit = await owner.req<any>("GET", `/api/v1/teams/${team}/audit?action=instance.exec`);
    const events = (Array.isArray(audit.body) ? audit.body : audit.body.events).filter(
      (e: any) => e.action === "instance.exec",
    );
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(
      events.some((e: any) => e.actor === "exec-member@example.com" || e.actorEmail === "exec-member@example.com"),
    ).toBe(true);
    expect(events.every((e: any) => e.target === instance)).toBe(true);
    expect(JSON.stringify(audit.body)).not.toContain("secret-keystrokes");
  }, 60_000);

  it("ends the session (and its process) when the member is removed from the team", async () => {
    const s = openSession("member", "tty=1");
    await started(s);
    type(s, "echo in-$((1+1)); sleep 600\r");
    await saw(s, /in-2/);
    const sleeping = async () => {
      const r = await berth("owner", [
        "ps:exec",
        "-a",
        APP,
        "--",
        "/bin/sh",
        "-c",
        "ps | grep -c '[s]leep 600' || true",
      ]);
      return Number(r.stdout.trim());
    };
    expect(await sleeping()).toBe(1);
    expect((await owner.req("DELETE", `/api/v1/teams/${team}/members/exec-member@example.com`)).status).toBeLessThan(
      300,
    );
    expect(await s.closed).toBe(4403);
    expect(s.frames.at(-1)).toMatchObject({ type: "ended" });
    await until("the session's process killed", async () => (await sleeping()) === 0, 15_000);
  }, 60_000);
});
