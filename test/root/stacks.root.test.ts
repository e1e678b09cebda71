// Apps without a Dockerfile: git push -> detection -> build on a platform stack -> registry -> release (root tier).
// The Node.js stack is built once per test run (debootstrap) and shared through BERTH_STACK_CACHE_DIR.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureStack, rebuildStack } from "../../server/builds/stacks/index.ts";
import { cleanupBuilder } from "../helpers/builder-cleanup.ts";
import { buildahIn, checkStoreOf, localContainers, pullReleased } from "../helpers/builder-stores.ts";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { useStackCache } from "../helpers/stack-cache.ts";

const run = promisify(execFile);
const STACK_TIMEOUT = 20 * 60 * 1000;

let srv: TestServer;
let owner: ApiClient;
let token = "";
let dropCache = () => undefined as void;
const dirs: string[] = [];

const storageOf = (dataDir: string) => ({
  root: path.join(dataDir, "builder", "storage"),
  runRoot: path.join(dataDir, "builder", "run"),
});
const g = (dataDir: string) => {
  const s = storageOf(dataDir);
  return ["--root", s.root, "--runroot", s.runRoot, "--storage-driver", "overlay"];
};

async function buildah(args: string[], dataDir = srv.dataDir): Promise<string> {
  const { stdout } = await run("buildah", [...g(dataDir), ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/**
 * The image of an app's release, pulled from the platform registry into the test's own check store (app images
 * stay in the app's builder store only while it builds; stack builds remove theirs once pushed).
 */
async function released(app: string, version = 1): Promise<string> {
  const rel = await owner.req<any>("GET", `/api/v1/apps/${app}/releases/v${version}`);
  expect(rel.status).toBe(200);
  return pullReleased(srv.dataDir, srv.cp.registry(), rel.body.image);
}
const check = (args: string[]) => buildahIn(checkStoreOf(srv.dataDir), args);

/** Runs `argv` in a throwaway container of `image` (no network) and returns its output. */
async function inImage(image: string, argv: string[]): Promise<string> {
  const ctr = (await check(["from", "--quiet", "--pull=never", image])).trim();
  try {
    return await check([
      "run",
      "--runtime",
      "/usr/sbin/runc",
      "--isolation",
      "oci",
      "--network",
      "none",
      ctr,
      "--",
      ...argv,
    ]);
  } finally {
    await check(["rm", ctr]).catch(() => undefined);
  }
}

async function imageConfig(image: string): Promise<Record<string, any>> {
  return (JSON.parse(await check(["inspect", "--type", "image", image])) as { OCIv1: { config: Record<string, any> } })
    .OCIv1.config;
}

async function app(name: string) {
  expect((await owner.req("POST", "/api/v1/apps", { name })).status).toBe(201);
}
async function repo(files: Record<string, string | Buffer>) {
  const d = await makeRepo(files);
  dirs.push(d);
  return d;
}
const push = (d: string, name: string) => git(d, ["push", remoteUrl(srv.url, name, token), "main"]);

const SERVER_JS = `const http = require("http");
http.createServer((req, res) => res.end("hello from " + process.version + " " + process.env.NODE_ENV)).listen(process.env.PORT, "127.0.0.1");
`;

describeRoot("builds without a Dockerfile on platform stacks", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    dropCache = useStackCache();
    srv = await startTestServer({}, { registry: true });
    owner = new ApiClient(srv.url);
    await owner.signUp("stacks@example.com");
    token = (await owner.tokenClient()).token;
    // The one slow step of the file: the Node.js stack from the run's cache, or built (debootstrap) on a cold run.
    const started = Date.now();
    const stack = await ensureStack(storageOf(srv.dataDir), "node", {
      onLine: (l) => process.stderr.write(`[stack] ${l}\n`),
    });
    process.stderr.write(`[stack] ${stack.image} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }, STACK_TIMEOUT);

  afterAll(async () => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await srv?.close();
    dropCache();
  });

  it("builds a Node.js app (no dependencies) with its Procfile's process types", async () => {
    await app("node-app");
    const d = await repo({
      "package.json": JSON.stringify({
        name: "node-app",
        version: "1.0.0",
        engines: { node: ">=20" },
        scripts: { start: "node server.js" },
      }),
      "server.js": SERVER_JS,
      "worker.js": "setInterval(() => console.log('working'), 1000);\n",
      Procfile: "web: node server.js\nworker: node worker.js\n",
    });
    const started = Date.now();
    const out = await push(d, "node-app");
    process.stderr.write(`[build] node app pushed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    expect(out.code, out.out).toBe(0);
    expect(out.out).toContain("remote: -----> Detected Node.js app (package.json)");
    expect(out.out).toMatch(
      /remote: -----> Using stack berth-stack\/node:[0-9a-f]{16} \(Debian bookworm, Node\.js 18\./,
    );
    // engines.node asks for a Node.js Debian does not ship: a clear warning, and the build goes on.
    expect(out.out).toMatch(/warning: engines\.node asks for ">=20" but this stack has Node\.js 18\./);
    expect(out.out).not.toContain("Installing dependencies"); // nothing to install, so no step with network
    expect(out.out).toContain("remote: -----> Released v1 (process types: web, worker)");

    const rel = await owner.req<any>("GET", "/api/v1/apps/node-app/releases/v1");
    expect(rel.body.processTypes).toEqual({ web: "node server.js", worker: "node worker.js" });
    expect(rel.body.image).toMatch(/^node-app@sha256:[0-9a-f]{64}$/);

    const image = await released("node-app");
    const config = await imageConfig(image);
    expect(config.Env).toEqual(expect.arrayContaining(["NODE_ENV=production", "PORT=5000"]));
    expect(config.WorkingDir).toBe("/app");
    expect(config.User).toBe("1000:1000");
    expect(config.Cmd).toEqual(["/bin/sh", "-c", "exec node server.js"]);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(["5000/tcp"]);

    // The app's files and Debian's node are in the image, and the app answers on $PORT.
    const probe = `
      const { spawn } = require("child_process");
      const fs = require("fs");
      console.log("files", fs.readdirSync("/app").sort().join(","), "uid", process.getuid());
      const c = spawn("node", ["server.js"], { env: { ...process.env, PORT: "5123" }, stdio: "inherit" });
      setTimeout(() => require("http").get("http://127.0.0.1:5123/", (r) => {
        let t = ""; r.on("data", (d) => (t += d)); r.on("end", () => { console.log("http", t); c.kill(); });
      }).on("error", (e) => { console.log("http error", e.message); c.kill(); }), 700);`;
    const seen = await inImage(image, ["node", "-e", probe]);
    expect(seen).toContain("files Procfile,package.json,server.js,worker.js uid 1000"); // the unprivileged app user
    expect(seen).toMatch(/http hello from v18\.\d+\.\d+ production/);
  });

  it("runs the build script offline and rejects the push when it fails, changing nothing", async () => {
    await app("node-broken");
    const d = await repo({
      "package.json": JSON.stringify({ name: "b", scripts: { build: "node build.js", start: "node server.js" } }),
      "build.js": "require('fs').writeFileSync('built.txt', 'ok'); console.log('built it');\n",
      "server.js": SERVER_JS,
    });
    const ok = await push(d, "node-broken");
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain("remote: -----> Running build script (npm run build)");
    expect(ok.out).toContain("built it");
    expect(await inImage(await released("node-broken"), ["cat", "/app/built.txt"])).toBe("ok");
    const before = (await git(d, ["rev-parse", "HEAD"])).out.trim();

    fs.writeFileSync(path.join(d, "build.js"), "console.error('build breaks on purpose'); process.exit(3);\n");
    await git(d, ["commit", "-qam", "break the build"]);
    const bad = await push(d, "node-broken");
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain("build breaks on purpose");
    expect(bad.out).toContain("error: build failed: Running build script (npm run build) failed");
    expect((await owner.req<any[]>("GET", "/api/v1/apps/node-broken/releases")).body.map((r) => r.version)).toEqual([
      1,
    ]);
    const remote = await git(d, ["ls-remote", remoteUrl(srv.url, "node-broken", token), "refs/heads/main"]);
    expect(remote.out.split("\t")[0]).toBe(before);
    // The failed build's container is gone (from the app's builder store, and from every other).
    expect(await localContainers(srv.dataDir)).toEqual([]);
  });

  it("installs locked dependencies with npm ci from the npm registry", async () => {
    await app("node-deps");
    const ms = {
      version: "2.1.3",
      resolved: "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
      integrity: "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==",
    };
    const pkg = {
      name: "node-deps",
      version: "1.0.0",
      dependencies: { ms: "^2.1.3" },
      scripts: { start: "node server.js" },
    };
    const lock = {
      name: "node-deps",
      version: "1.0.0",
      lockfileVersion: 3,
      requires: true,
      packages: { "": { name: "node-deps", version: "1.0.0", dependencies: { ms: "^2.1.3" } }, "node_modules/ms": ms },
    };
    const d = await repo({
      "package.json": JSON.stringify(pkg),
      "package-lock.json": JSON.stringify(lock),
      ".npmrc": "registry=http://127.0.0.1:1/\n",
      "server.js": SERVER_JS,
    });
    const out = await push(d, "node-deps");
    expect(out.code, out.out).toBe(0);
    expect(out.out).toContain("remote: -----> Installing dependencies with npm ci (package-lock.json)");
    expect(out.out).toContain("ignoring the app's .npmrc");
    expect(out.out).not.toContain("npm rebuild"); // the lockfile says nothing has install scripts
    const seen = await inImage(await released("node-deps"), ["node", "-e", "console.log(require('ms')(60000))"]);
    expect(seen.trim()).toBe("1m");

    // A dependency from anywhere but the registry is refused before anything runs with network access.
    fs.writeFileSync(
      path.join(d, "package.json"),
      JSON.stringify({ ...pkg, dependencies: { x: "http://127.0.0.1:5000/x.tgz" } }),
    );
    fs.rmSync(path.join(d, "package-lock.json"));
    await git(d, ["commit", "-qam", "foreign dependency"]);
    const bad = await push(d, "node-deps");
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain("dependencies must come from the npm registry");
  });

  it("refuses a yarn lockfile clearly instead of ignoring it", async () => {
    await app("node-yarn");
    const d = await repo({
      "package.json": JSON.stringify({
        name: "y",
        dependencies: { leftpad: "^0.0.1" },
        scripts: { start: "node server.js" },
      }),
      "yarn.lock": "# yarn lockfile v1\n",
      "server.js": SERVER_JS,
    });
    const out = await push(d, "node-yarn");
    expect(out.code).not.toBe(0);
    expect(out.out).toContain("yarn.lock asks for yarn, which the Node.js stack does not have");
  });

  it("serves a static site with busybox httpd", async () => {
    await app("static-site");
    const d = await repo({ "index.html": "<h1>static ok</h1>\n", "about/index.html": "<p>about</p>\n" });
    const out = await push(d, "static-site");
    expect(out.code, out.out).toBe(0);
    expect(out.out).toContain("remote: -----> Detected static site (index.html)");
    expect(out.out).toMatch(/Using stack berth-stack\/static:[0-9a-f]{16} \(busybox-static httpd\)/);
    const rel = await owner.req<any>("GET", "/api/v1/apps/static-site/releases/v1");
    expect(rel.body.processTypes).toEqual({ web: 'httpd -f -v -p "$PORT" -h /app' });
    // httpd daemonizes without -f; the container (and httpd with it) ends when sh exits.
    const page = await inImage(await released("static-site"), [
      "sh",
      "-c",
      "ip link set lo up 2>/dev/null; httpd -p 127.0.0.1:8080 -h /app && wget -q -O - http://127.0.0.1:8080/ http://127.0.0.1:8080/about/",
    ]);
    expect(page).toContain("<h1>static ok</h1>");
    expect(page).toContain("<p>about</p>");
  });

  it("builds a Procfile-only app on the Debian base stack", async () => {
    await app("procfile-app");
    const d = await repo({
      Procfile: "web: sh ./serve.sh\nclock: sh -c 'while sleep 60; do date; done'\n",
      "serve.sh": "echo serving on $PORT\nexec sleep 100000\n",
    });
    const out = await push(d, "procfile-app");
    expect(out.code, out.out).toBe(0);
    expect(out.out).toContain("remote: -----> Detected Procfile app");
    expect(out.out).toMatch(/Using stack berth-stack\/node:[0-9a-f]{16}/);
    const rel = await owner.req<any>("GET", "/api/v1/apps/procfile-app/releases/v1");
    expect(rel.body.processTypes).toEqual({ web: "sh ./serve.sh", clock: "sh -c 'while sleep 60; do date; done'" });
    expect(await inImage(await released("procfile-app"), ["cat", "/app/serve.sh"])).toContain("serving on $PORT");
  });

  it("builds a stack once for concurrent builds, and rebuilds it on demand", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-stacks-"));
    try {
      const s = storageOf(dataDir);
      const lines: string[] = [];
      const opts = { cacheDir: null, onLine: (l: string) => lines.push(l) };
      const [a, b] = await Promise.all([ensureStack(s, "static", opts), ensureStack(s, "static", opts)]);
      expect(a.image).toBe(b.image);
      expect(lines.filter((l) => l.startsWith("building stack static"))).toHaveLength(1);
      const id = (await buildah(["images", "--quiet", "--no-trunc", a.image], dataDir)).trim();
      const again = await rebuildStack(s, "static", opts);
      expect(again.image).toBe(a.image);
      expect((await buildah(["images", "--quiet", "--no-trunc", a.image], dataDir)).trim()).not.toBe(id);
      expect(lines.filter((l) => l.startsWith("building stack static"))).toHaveLength(2);
    } finally {
      await cleanupBuilder(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
