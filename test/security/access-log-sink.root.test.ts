// Issue 12, finding 3 (c): the router's access-line sink accepts only the router. Access lines name an app by Host
// and land in that app's log; the sink used to be a loopback TCP port any local process could write to, and a line
// written there showed up in another team's app log. A process of another local user (here: uid 65534, what a
// service or a tenant's stray process on the host runs as) connects to the sink address the real router (Caddy) is
// configured with and writes a forged line for a victim's app; it must not reach the app's log, while the router's
// own lines still do. Root tier: only root can run the writer as another user.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ACCESS_LOGGER } from "../../server/router/caddy-config.ts";
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

/** The access-log writer address in Caddy's live config, read through its admin API (as the router loaded it). */
async function sinkAddress(): Promise<string> {
  const initial = JSON.parse(fs.readFileSync(path.join(srv.dataDir, "caddy", "initial.json"), "utf8")) as {
    admin: { listen: string };
  };
  const res = await fetch(`http://${initial.admin.listen}/config/logging/logs/berth_access/writer`);
  expect(res.status).toBe(200);
  const writer = (await res.json()) as { output: string; address: string };
  expect(writer.output).toBe("net");
  return writer.address;
}

/** Runs a writer as uid/gid 65534 that sends `line` to the Caddy net address `address`; resolves to its output. */
function writeAsNobody(address: string, line: string): Promise<{ code: number | null; out: string }> {
  const script = `
    const net = require("node:net");
    const [address, line] = process.argv.slice(1);
    const tcp = /^tcp\\/(.+):(\\d+)$/.exec(address);
    const opts = address.startsWith("unix/") ? { path: address.slice(5) } : { host: tcp[1], port: Number(tcp[2]) };
    const s = net.connect(opts, () => s.end(line + "\\n", () => { console.log("written"); process.exit(0); }));
    s.on("error", (e) => { console.log(e.code); process.exit(3); });
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", script, address, line], {
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

  it("drops a line forged by another local user; the router's own lines still reach the app's log", async () => {
    const address = await sinkAddress();
    const forged = JSON.stringify({
      level: "info",
      ts: Date.now() / 1000,
      logger: ACCESS_LOGGER,
      msg: "handled request",
      request: { host: `${APP}.${srv.cp.services.config.domain}`, method: "POST", uri: "/forged-by-another-user" },
      status: 200,
      duration: 0.001,
      size: 2,
    });
    const writer = await writeAsNobody(address, forged);

    // A real request after the forged line: once its line is in the log, the forged one would be too.
    expect(await viaRouter("/real-router-line")).toBe(503);
    const lines = await until(
      "the router's own access line in the app's log",
      async () => {
        const l = await routerLog();
        return l.some((t) => t.includes('path="/real-router-line"')) && l;
      },
      30_000,
    );
    expect(lines.some((t) => t.includes("forged-by-another-user"))).toBe(false);
    // The writer was refused at the socket (it cannot even reach it), not merely ignored later.
    expect(writer.code, writer.out).not.toBe(0);
    expect(writer.out).toMatch(/EACCES|ENOENT|EPERM|ECONNREFUSED/);
  });
});
