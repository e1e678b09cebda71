// Issue 12, finding 3 (c): only the control plane may feed or read the router's access lines. Access lines name an
// app by Host and land in that app's log; the Caddy sink used to be a loopback TCP port any local process could write
// to. With HAProxy the lines are read (and routes written) over the Runtime API socket: a process of another local
// user (here: uid 65534, what a service or a tenant's stray process on the host runs as) must not be able to open it,
// while the router's own lines still reach the app's log. Root tier: only root can run the client as another user.
import { spawn } from "node:child_process";
import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { haproxyPaths } from "../../server/router/haproxy-process.ts";
import { ApiClient } from "../helpers/client.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { until } from "../helpers/until.ts";

const APP = "sink-victim";
const NOBODY = 65_534;

let srv: TestServer;
let victim: ApiClient;

/** GET through the router for the victim's app; never rejects. */
function viaRouter(urlPath: string): Promise<number> {
  const { routerPort, domain } = srv.cp.services.config;
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port: routerPort, path: urlPath, headers: { host: `${APP}.${domain}` }, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end();
  });
}

/**
 * Runs a client as uid/gid 65534 that connects to the router's Runtime API socket (where the control plane reads the
 * access lines from and writes routes to) and sends `command`; resolves to its output.
 */
function connectAsNobody(socketPath: string, command: string): Promise<{ code: number | null; out: string }> {
  const script = `
    const net = require("node:net");
    const [socketPath, command] = process.argv.slice(1);
    const s = net.connect({ path: socketPath }, () => s.end(command + "\\n", () => { console.log("written"); process.exit(0); }));
    s.on("error", (e) => { console.log(e.code); process.exit(3); });
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", script, socketPath, command], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: "/",
      env: { PATH: "/usr/bin:/bin", HOME: "/", NODE_ENV: "test" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => resolve({ code, out: out.trim() }));
  });
}

async function routerLog(): Promise<string[]> {
  const r = await victim.req<{ entries: { text: string }[] }>(
    "GET",
    `/api/v1/apps/${APP}/logs?source=router&lines=200`,
  );
  expect(r.status).toBe(200);
  return r.body.entries.map((e) => e.text);
}

describeRoot("the access-line sink accepts only the router", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    srv = await startTestServer({}, { router: true });
    await new ApiClient(srv.url).signUp("sink-admin@example.com");
    victim = new ApiClient(srv.url);
    expect((await victim.signUp("sink-victim@example.com")).status).toBe(201);
    expect((await victim.req("POST", `/api/v1/apps`, { name: APP })).status).toBe(201);
    // The app's route is live once the router answers for its host with the app's own page (no instances: 503).
    await until("victim app routed", async () => (await viaRouter("/")) === 503, 30_000);
  }, 120_000);

  afterAll(async () => {
    if (isRoot) await srv?.close();
  });

  it("refuses another local user at the Runtime API socket; the router's own lines still reach the app's log", async () => {
    const { admin } = haproxyPaths(srv.dataDir);
    // Through this socket the control plane follows the access lines and changes routes; another user who could
    // open it could reroute the victim's host (here: to the 404 backend) or read every app's requests.
    const writer = await connectAsNobody(
      admin,
      `del map ${haproxyPaths(srv.dataDir).map} ${APP}.${srv.cp.services.config.domain}`,
    );

    // A real request afterwards: still the app's own page, and its access line lands in the app's log.
    expect(await viaRouter("/real-router-line")).toBe(503);
    await until(
      "the router's own access line in the app's log",
      async () => (await routerLog()).some((t) => t.includes('path="/real-router-line"')),
      30_000,
    );
    // The client was refused at the socket (it cannot even reach it), so the command never ran.
    expect(writer.code, writer.out).not.toBe(0);
    expect(writer.out).toMatch(/EACCES|ENOENT|EPERM|ECONNREFUSED/);
  });
});
