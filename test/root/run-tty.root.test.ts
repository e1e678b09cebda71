// Interactive `berth run` with real everything (root tier): git push -> build -> a real agent process -> runc, then
// `berth run` under a real pty (the one-off's process gets a pty of its own, its size follows the local window, keys
// and Ctrl-C go in, the exit code comes back), with piped stdin, with --timeout, and the run WebSocket: a viewer and
// another team refused before anything is created, the per-user cap, the idle timeout, a client that goes away, the
// `instance.run` audit without keystrokes; after every session no container, cgroup or netns of the one-off is left.
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
import { type AppSocket, firstFrame, openAppSocket } from "../helpers/app-socket.ts";
import { berthInPty, type PtyStep } from "../helpers/pty.ts";
import { addTeamUsers } from "../helpers/team-users.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { cgroupDirs } from "../../runtime-agent/runtime/cgroups.ts";
import { silentLogger } from "../../runtime-agent/log.ts";

const APP = "runtty";
const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/berth.mjs");

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

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const cliEnv = (who: keyof typeof tokens) => ({
  ...process.env,
  BERTH_URL: srv.url,
  BERTH_TOKEN: tokens[who],
  XDG_CONFIG_HOME: path.join(home, "config"),
  HOME: home,
});

/** `berth` as the member on a real pty (test/helpers/pty.ts). */
const memberInPty = (args: string[], steps: PtyStep[], onOut?: (out: string) => void) =>
  berthInPty(args, steps, { env: cliEnv("member"), onOut });

/** One-off instances of the app the control plane knows (any state). */
const oneOffs = () => srv.cp.services.db.instance.findMany({ where: { processType: "run" } });

/** The one-off's container, cgroup and netns on the node (names as the agent makes them). */
async function leftovers(id: string): Promise<string[]> {
  const found: string[] = [];
  if ((await inspector.list()).some((c) => c.id === id)) found.push(`container ${id}`);
  found.push(...(await cgroupDirs(`${inspector.config.cgroupParent}/${id}`)));
  found.push(...(await inspector.netns.list(inspector.config.namePrefix)).filter((n) => n.includes(id)));
  return found;
}

/** The memory limit of the one-off's cgroup, as the kernel has it (cgroup v2 or v1). */
async function memoryLimit(id: string): Promise<number> {
  for (const dir of await cgroupDirs(`${inspector.config.cgroupParent}/${id}`))
    for (const file of ["memory.max", "memory.limit_in_bytes"]) {
      const text = await fs.promises.readFile(path.join(dir, file), "utf8").catch(() => "");
      if (text) return Number(text.trim());
    }
  throw new Error(`no memory limit found for ${id}`);
}

/** Waits until the one-off is gone from the database and leaves nothing on the node. */
async function removed(id: string): Promise<void> {
  await until(`one-off ${id} removed`, async () => (await oneOffs()).every((i) => i.id !== id), 60_000);
  let left: string[] = [];
  await until(
    `nothing of ${id} left on the node`,
    async () => {
      left = await leftovers(id);
      return left.length === 0;
    },
    60_000,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}: ${left.join(", ")}`);
  });
}

/** The CLI with piped stdio, `input` written to its stdin and closed. */
function berthPiped(args: string[], input: string) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv("member") });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    child.stdin.end(input);
  });
}

/** A raw run WebSocket session (test/helpers/app-socket.ts). */
const openRunSocket = (who: keyof typeof tokens, query: string) =>
  openAppSocket(srv.url, "run", APP, tokens[who], query);

const started = (s: AppSocket) => firstFrame(s, 60_000);

describeRoot("interactive berth run: a one-off container with a terminal or pipes", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    env = await createRootEnv();
    srv = await startTestServer({ BERTH_EXEC_MAX_SESSIONS: "2", BERTH_EXEC_IDLE_TIMEOUT: "10" }, { registry: true });
    home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-run-"));
    owner = new ApiClient(srv.url);
    await owner.signUp("run-owner@example.com");
    const cast = await addTeamUsers(srv.url, owner, "run");
    team = cast.team;
    Object.assign(tokens, cast.tokens);
    const join = await localJoinToken(srv, "run-node");
    const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    const flags = agentFlagsFor(env, { controlPlane: srv.url, joinToken: join, nodeName: "run-node", portBase });
    inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    agent = spawnAgent(flags);
    await until(
      "node ready",
      async () => (await srv.cp.services.db.node.findUnique({ where: { name: "run-node" } }))?.state === "ready",
    );
    expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    repo = await makeRepo(busyboxWebApp());
    const push = await git(repo, ["push", remoteUrl(srv.url, APP, tokens.owner), "main"]);
    expect(push.code, push.out).toBe(0);
    await until("a running web instance", async () => {
      const r = await owner.req<any[]>("GET", `/api/v1/apps/${APP}/instances`);
      return r.body.find((i) => i.state === "running" && i.processType === "web");
    });
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

  it("on a terminal: a pty in the one-off, its size and resize, Ctrl-C reaches the remote shell, the exit code", async () => {
    let during: string[] = [];
    let id = "";
    const r = await memberInPty(
      ["run", "-a", APP, "--", "sh"],
      [
        // busybox ash swallows keys until its prompt's cursor query (ESC[6n) is answered (which happens first).
        { after: /Running on[\s\S]*\x1b\[6n/, send: "tty; stty size; echo ready-$((6*7))\r" },
        { after: /ready-42[\s\S]*\x1b\[6n/, send: null },
        { after: /ready-42[\s\S]*\x1b\[6n/, send: "stty size; echo resized-$((2*3))\r" },
        { after: /resized-6[\s\S]*\x1b\[6n/, send: "sleep 300\r" },
        { after: /sleep 300\r*\n/, send: "\x03" },
        { after: /sleep 300\r*\n[\s\S]*\x1b\[6n/, send: "echo after-int; exit 3\r" },
      ],
      (out) => {
        const m = /Running on (runtty-run-[0-9a-f]+)/.exec(out);
        if (m && !id) {
          id = m[1]!;
          void leftovers(id).then((l) => (during = l));
        }
      },
    );
    expect(r.code, r.out).toBe(3);
    expect(r.out).toMatch(/\/dev\/pts\/\d+/);
    expect(r.out).toMatch(/\b27 91\b/);
    expect(r.out).toMatch(/\b43 132\b/);
    expect(r.out).toContain("after-int");
    expect(id).not.toBe("");
    // While it ran, the one-off had its own container, cgroup and netns; afterwards none of them is left.
    expect(during).toContain(`container ${id}`);
    expect(during.length).toBeGreaterThanOrEqual(3);
    await removed(id);
  }, 180_000);

  it("without a terminal: stdin is piped in (binary-safe), output and exit code come back, nothing is left", async () => {
    const cat = await berthPiped(["run", "-a", APP, "--", "cat"], "hi\n");
    expect(cat.code, cat.err).toBe(0);
    expect(cat.out).toBe("hi\n");
    const wc = await berthPiped(
      ["run", "-a", APP, "--", "wc", "-c;", "tty", "||", "true;", "exit", "4"],
      "x".repeat(200_000),
    );
    expect(wc.code, wc.err).toBe(4);
    expect(wc.out).toMatch(/^\s*200000\nnot a tty\n$/);
    const id = /Running on (runtty-run-[0-9a-f]+) \(v\d+\)/.exec(wc.err)?.[1];
    expect(id, wc.err).toBeDefined();
    await removed(id!);
    await until("no one-off left", async () => (await oneOffs()).length === 0, 60_000);
  }, 180_000);

  it("--timeout stops the command with exit code 124 and removes the one-off", async () => {
    const r = await berthPiped(["run", "-a", APP, "--timeout", "2", "--", "sleep", "60"], "");
    expect(r.code, r.err).toBe(124);
    expect(r.err).toContain("timed out after 2 s");
    await removed(/Running on (runtty-run-[0-9a-f]+)/.exec(r.err)![1]!);
  }, 120_000);

  it("refuses a viewer (403) and another team (404) before any container is created", async () => {
    const v = openRunSocket("viewer", "tty=0&cmd=id");
    expect(await v.closed).toBe(4403);
    expect(v.frames).toEqual([
      { type: "error", error: { code: "forbidden", message: expect.stringContaining("app:exec") } },
    ]);
    const o = openRunSocket("stranger", "tty=0&cmd=id");
    expect(await o.closed).toBe(4404);
    expect(o.frames[0]).toMatchObject({ type: "error", error: { code: "not_found" } });
    const cli = await runBerth(["run", "-a", APP, "--", "id"], { url: srv.url, token: tokens.viewer, home });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("does not allow app:exec");
    const other = await runBerth(["run", "-a", APP, "--", "id"], { url: srv.url, token: tokens.stranger, home });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("not found");
    expect(await oneOffs()).toEqual([]);
  }, 60_000);

  it("--type gives the one-off that process type's limits; an unknown type is refused before anything is made", async () => {
    const set = await runBerth(["limits:set", "web", "--memory", "200M", "-a", APP], {
      url: srv.url,
      token: tokens.owner,
      home,
    });
    expect(set.code, set.stderr).toBe(0);
    const typed = openRunSocket("member", "tty=0&type=web&cmd=sleep&cmd=60");
    const plain = openRunSocket("member", "tty=0&cmd=sleep&cmd=60");
    const [t, p] = [await started(typed), await started(plain)];
    expect(t).toMatchObject({ type: "started" });
    expect(p).toMatchObject({ type: "started" });
    expect(await memoryLimit(t.instance)).toBe(200 * 1024 * 1024);
    expect(await memoryLimit(p.instance)).toBe(512 * 1024 * 1024);
    typed.ws.close();
    plain.ws.close();
    await removed(t.instance);
    await removed(p.instance);
    const bad = openRunSocket("member", "tty=0&type=nope&cmd=id");
    expect(await bad.closed).toBe(4422);
    expect(bad.frames[0]).toMatchObject({ type: "error", error: { code: "validation_failed" } });
    expect(await oneOffs()).toEqual([]);
  }, 180_000);

  it("counts runs in the per-user cap, ends idle ones and dropped clients (removing their one-offs), audits without keystrokes", async () => {
    const a = openRunSocket("owner", "tty=1&cmd=sh");
    const b = openRunSocket("owner", "tty=1&cmd=sh");
    const c = openRunSocket("owner", "tty=1&cmd=sh");
    const codes = await Promise.all([a, b, c].map((s) => started(s)));
    // Two start, the third is refused (whichever came last), and no third container was made.
    expect(codes.filter((f) => f.type === "started")).toHaveLength(2);
    const refused = [a, b, c].find((s) => s.frames[0]?.type === "error")!;
    expect(await refused.closed).toBe(4429);
    const [first, second] = [a, b, c].filter((s) => s !== refused) as [typeof a, typeof a];
    expect((await oneOffs()).length).toBe(2);
    first.ws.send(Buffer.from("echo secret-keystrokes\r"), { binary: true });
    await until("echo", async () => /secret-keystrokes\r?\n/.test(first.out), 15_000);
    // The client goes away without a close handshake: the one-off goes too.
    first.ws.terminate();
    await removed(first.frames[0].instance);
    // The other stays idle past BERTH_EXEC_IDLE_TIMEOUT (10 s).
    expect(await second.closed).toBe(4408);
    expect(second.frames.at(-1)).toEqual({ type: "ended", reason: "idle for too long" });
    await removed(second.frames[0].instance);
    const audit = await owner.req<any>("GET", `/api/v1/teams/${team}/audit?action=instance.run`);
    const events = (Array.isArray(audit.body) ? audit.body : audit.body.events).filter(
      (e: any) => e.action === "instance.run",
    );
    expect(events.length).toBeGreaterThanOrEqual(8);
    expect(events.some((e: any) => JSON.stringify(e).includes('"type":"web"'))).toBe(true);
    expect(events.map((e: any) => e.target)).toContain(first.frames[0].instance);
    expect(JSON.stringify(audit.body)).not.toContain("secret-keystrokes");
  }, 180_000);
});
