// Managed PostgreSQL with real everything (root tier): the postgres platform image (debootstrap, cached) -> registry
// -> scheduler -> a real agent process (runc, conmon, user namespaces, seccomp, the node network policy) running it on
// its own volume. The app (the same image with a tiny perl HTTP front for psql, deployed as an image) gets
// DATABASE_URL in one release, writes a row through psql, and the row survives a redeploy of the app, an agent
// kill -9 and a control-plane restart on the same data dir; another team gets 404; destroy removes the container, its netns and cgroup, the volume and DATABASE_URL.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { bootRootPlatform, type RootPlatform } from "../helpers/root-stack.ts";
import { useStackCache } from "../helpers/stack-cache.ts";
import type { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { runBerth } from "../helpers/cli.ts";
import { builderDirOf, stackStorage } from "../../server/builds/builder-stores.ts";
import { pushImage, storageArgs } from "../../server/builds/buildah.ts";
import { ensureStack } from "../../server/builds/stacks/index.ts";

const APP = "pg-client";

let platform: RootPlatform | undefined;
let srv: TestServer;
let owner: ApiClient;
let inspector: OciBackend;
let addon = "";
let redis = "";
let restoreCache: () => void = () => undefined;
let stranger: ApiClient | undefined;
/** The app image's digest in the stranger's own repository (pushed in beforeAll). */
let strangerDigest = "";
let clientDigest = "";
const APP2 = "pg-client2";
const STRANGER = "pg-stranger";

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GET through the router with the app's Host header (60 s: psql may be slow to answer); never rejects. */
const get = (urlPath: string, app = APP) => platform!.getApp(app, urlPath, 60_000);

/**
 * The app's web process: perl (in the image through postgresql-common) answers HTTP on $PORT and runs psql against
 * $DATABASE_URL: /write/WORD inserts a row, /read lists the rows, /url tells whether DATABASE_URL is set.
 */
const FRONT = String.raw`use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalPort => $ENV{PORT}, Listen => 16, ReuseAddr => 1) or die "listen: $!";
while (my $c = $s->accept) {
  my $req = <$c> // ""; while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
  my ($p) = $req =~ m{^GET (\S+)}; $p //= "/"; my $out = "ok\n";
  my $q = defined $ENV{DATABASE_URL} ? 1 : 0;
  if ($p =~ m{^/write/(\w+)$}) { $out = qx{PGCONNECT_TIMEOUT=5 psql "\$DATABASE_URL" -v ON_ERROR_STOP=1 -Atc "create table if not exists t(v text); insert into t values ('$1')" 2>&1} . "exit=$?\n"; }
  elsif ($p eq "/read") { $out = qx{PGCONNECT_TIMEOUT=5 psql "\$DATABASE_URL" -Atc "select v from t order by v" 2>&1} . "exit=$?\n"; }
  elsif ($p eq "/url") { $out = "url=$q\n"; }
  elsif ($p =~ m{^/redis/(?:set/(\w+)|get)$}) {
    my $val = $1;
    my ($pw, $h, $port) = ($ENV{REDIS_URL} // "") =~ m{^redis://:([^@]*)@([^:]+):(\d+)$};
    my $r = defined $port ? IO::Socket::INET->new(PeerAddr => $h, PeerPort => $port, Timeout => 5) : undef;
    if (!$r) { $out = "connect failed\n"; } else {
      my $resp = sub { "*" . scalar(@_) . "\r\n" . join("", map { "\$" . length($_) . "\r\n$_\r\n" } @_) };
      print $r $resp->("AUTH", $pw) . (defined $val ? $resp->("SET", "k", $val) : $resp->("GET", "k"));
      my $auth = <$r>; my $reply = <$r>; $reply .= <$r> if $reply =~ /^\$\d/;
      $out = "auth=$auth" . "reply=$reply"; close $r;
    }
  }
  print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n$out"; close $c;
}`;

const addonInfo = async () =>
  (
    await owner.req<{ state: string; failReason: string | null; node: string | null; running: boolean }>(
      "GET",
      `/api/v1/apps/${APP}/addons/${addon}`,
    )
  ).body;

const appReleases = async () =>
  (await owner.req<{ version: number; status: string; configKeys: string[] }[]>("GET", `/api/v1/apps/${APP}/releases`))
    .body;

/** The rows the app reads through psql. */
async function rows(): Promise<string> {
  const r = await until("the app reads its rows", async () => {
    const x = await get("/read");
    return x.status === 200 && x.body.includes("exit=0") && x;
  });
  return r.body;
}

/** The service app's instances of an add-on (by the database: the API answers 404 for it). */
async function serviceInstances(name = addon) {
  const a = await srv.cp.services.db.addon.findFirstOrThrow({ where: { name } });
  return srv.cp.services.db.instance.findMany({ where: { appId: a.serviceAppId } });
}

describeRoot("managed PostgreSQL add-on (real agent, runc, user namespaces, node policy)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    restoreCache = useStackCache();
    platform = await bootRootPlatform({ email: "pg-owner@example.com", node: "pg-node" });
    ({ srv, owner, inspector } = platform);
    expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);

    // The app's image: the postgres stack (it has psql and perl) with the perl front as its command, pushed into
    // the app's own repository and deployed like `berth deploy --image APP@sha256:...`.
    const store = stackStorage(builderDirOf(srv.cp.services.config.dataDir));
    const stack = await ensureStack(store, "postgres");
    const g = storageArgs(store);
    const ctr = execFileSync("buildah", [...g, "from", "--pull=never", "--", stack.image], { encoding: "utf8" }).trim();
    execFileSync("buildah", [...g, "config", "--cmd", JSON.stringify(["perl", "-e", FRONT]), ctr]);
    execFileSync("buildah", [...g, "commit", "--quiet", "--rm", ctr, "localhost/pg-client-test:1"]);
    const digest = await pushImage(
      store,
      "localhost/pg-client-test:1",
      `${APP}:client`,
      srv.cp.services.registry(),
      () => undefined,
    );
    // The same image for another team's app (in its own repository: another team's images are not readable).
    strangerDigest = await pushImage(
      store,
      "localhost/pg-client-test:1",
      `${STRANGER}:client`,
      srv.cp.services.registry(),
      () => undefined,
    );
    clientDigest = digest;
    execFileSync("buildah", [...g, "rmi", "localhost/pg-client-test:1"]);
    const dep = await owner.req("POST", `/api/v1/apps/${APP}/releases`, { image: `${APP}@${digest}` });
    expect(dep.status, JSON.stringify(dep.body)).toBe(201);
    await until("v1 answers", async () => (await get("/url")).body.includes("url=0"));
  }, 900_000);

  afterAll(async () => {
    const problems: string[] = [];
    if (platform) {
      for (const name of [addon, redis].filter(Boolean))
        await owner.req("DELETE", `/api/v1/apps/${APP}/addons/${name}`).catch((e: unknown) => problems.push(String(e)));
      await owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 0 }] });
      await owner.req("PATCH", `/api/v1/apps/${APP2}/formation`, { updates: [{ type: "web", quantity: 0 }] });
      await stranger?.req("PATCH", `/api/v1/apps/${STRANGER}/formation`, { updates: [{ type: "web", quantity: 0 }] });
      await until("containers gone", async () => (await inspector.list()).length === 0, 60_000).catch((e: unknown) =>
        problems.push(String(e)),
      );
      await owner.req("DELETE", `/api/v1/apps/${APP}`).catch(() => undefined);
      await owner.req("DELETE", `/api/v1/apps/${APP2}`).catch(() => undefined);
      await stranger?.req("DELETE", `/api/v1/apps/${STRANGER}`).catch(() => undefined);
    }
    problems.push(...((await platform?.close()) ?? []));
    restoreCache();
    expect(problems).toEqual([]);
  }, 240_000);

  it("refuses unknown kinds, plans and fields, and creates nothing", async () => {
    for (const body of [{ kind: "mysql" }, { kind: "postgres", plan: "huge" }, { kind: "postgres", extra: 1 }]) {
      const r = await owner.req<{ error: { code: string } }>("POST", `/api/v1/apps/${APP}/addons`, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
    }
    expect(await srv.cp.services.db.addon.count()).toBe(0);
  });

  it("creates PostgreSQL on its own volume; the app gets DATABASE_URL in one new release and writes a row", async () => {
    const before = (await appReleases()).length;
    const created = await owner.req<{ name: string; state: string; version: string }>(
      "POST",
      `/api/v1/apps/${APP}/addons`,
      { kind: "postgres" },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body).toMatchObject({ state: "provisioning", version: "15" });
    addon = created.body.name;
    expect(addon).toMatch(/^postgres-[a-f0-9]{8}$/);
    const started = Date.now();
    const info = await until("add-on available", async () => {
      const i = await addonInfo();
      if (i.state === "failed") throw new Error(`add-on failed: ${i.failReason}`);
      return i.state === "available" && i;
    });
    // What it took from the request to DATABASE_URL set (image cached), for docs/addons.md.
    console.log(`add-on available in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(info).toMatchObject({ node: "pg-node", running: true });
    const releases = await appReleases();
    expect(releases.length).toBe(before + 1);
    expect(releases[0]?.configKeys).toContain("DATABASE_URL");
    // Listed for the app, never as an app of its own; the credentials are nowhere in the add-on's answers.
    const list = await owner.req<{ name: string }[]>("GET", `/api/v1/apps/${APP}/addons`);
    expect(list.body.map((a) => a.name)).toEqual([addon]);
    expect(JSON.stringify(list.body) + JSON.stringify(info)).not.toMatch(/postgres:\/\//);
    const apps = await owner.req<{ name: string }[]>("GET", "/api/v1/apps");
    expect(apps.body.map((a) => a.name)).toEqual([APP]);
    expect((await owner.req("GET", `/api/v1/apps/${addon}`)).status).toBe(404);

    await until("the new release serves with DATABASE_URL", async () => (await get("/url")).body.includes("url=1"));
    const w = await get("/write/kept");
    expect(w.body, w.body).toContain("exit=0");
    expect(await rows()).toContain("kept");

    // It runs as the agent runs every instance: user namespace, no capabilities left, no_new_privs, seccomp.
    const [svc] = await serviceInstances();
    const st = JSON.parse(
      execFileSync("runc", ["--root", inspector.config.runcRoot, "state", svc!.id], { encoding: "utf8" }),
    ) as { pid: number };
    const status = fs.readFileSync(`/proc/${st.pid}/status`, "utf8");
    expect(fs.readFileSync(`/proc/${st.pid}/uid_map`, "utf8").trim()).not.toMatch(/^0\s+0\s+4294967295$/);
    expect(status).toMatch(/^Uid:\s+[1-9]\d*\s/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(fs.readFileSync(`/proc/${st.pid}/cmdline`, "utf8")).toContain("postgres");
    const [vol] = await inspector.volumes.list();
    expect(vol).toMatchObject({ mounted: true, sizeBytes: 1024 * 1024 * 1024 });
  }, 900_000);

  it("creates Redis the same way: REDIS_URL in one release, a key set through it with its password", async () => {
    const created = await owner.req<{ name: string; state: string; version: string }>(
      "POST",
      `/api/v1/apps/${APP}/addons`,
      { kind: "redis" },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    redis = created.body.name;
    await until("redis available", async () => {
      const i = (
        await owner.req<{ state: string; failReason: string | null }>("GET", `/api/v1/apps/${APP}/addons/${redis}`)
      ).body;
      if (i.state === "failed") throw new Error(`redis failed: ${i.failReason}`);
      return i.state === "available";
    });
    expect((await appReleases())[0]?.configKeys).toContain("REDIS_URL");
    const set = await until("the app sets a key", async () => {
      const x = await get("/redis/set/kept");
      return x.body.includes("auth=+OK") && x;
    });
    expect(set.body).toContain("reply=+OK");
    expect((await get("/redis/get")).body).toContain("kept");
  }, 600_000);

  it("the row survives a redeploy of the app and an agent kill -9; the add-on keeps its container", async () => {
    const [svc] = await serviceInstances();
    expect((await owner.req("PATCH", `/api/v1/apps/${APP}/config`, { set: { GREETING: "again" } })).status).toBe(200);
    await until("the redeploy is deployed", async () => (await appReleases())[0]?.status === "deployed");
    expect(await rows()).toContain("kept");
    expect((await serviceInstances())[0]?.id).toBe(svc?.id);

    await platform!.restartAgent("SIGKILL");
    expect(await rows()).toContain("kept");
    expect((await get("/write/more")).body).toContain("exit=0");
    expect(await rows()).toMatch(/kept\nmore/);
    expect((await serviceInstances())[0]?.id).toBe(svc?.id);
    expect((await get("/redis/get")).body).toContain("kept");
  }, 600_000);

  it("the row survives a control-plane restart on the same data dir; the add-on's container is not recreated", async () => {
    const [svc] = await serviceInstances();
    const pidOf = (id: string) =>
      (
        JSON.parse(execFileSync("runc", ["--root", inspector.config.runcRoot, "state", id], { encoding: "utf8" })) as {
          pid: number;
        }
      ).pid;
    const pid = pidOf(svc!.id);
    const containers = (await inspector.list()).map((c) => c.id).sort();
    const releases = (await appReleases()).length;
    const dataDir = srv.dataDir;

    srv = await platform!.restartControlPlane();
    expect(srv.dataDir).toBe(dataDir);
    // The same service instance, the same container process (not restarted, not recreated), no container added or
    // removed, and no release made by the restart (DATABASE_URL still points where the service runs).
    expect((await serviceInstances()).map((i) => i.id)).toEqual([svc!.id]);
    expect(pidOf(svc!.id)).toBe(pid);
    expect((await inspector.list()).map((c) => c.id).sort()).toEqual(containers);
    expect((await appReleases()).length).toBe(releases);
    expect(await rows()).toMatch(/kept\nmore/);
    expect((await get("/write/after")).body).toContain("exit=0");
    expect(await rows()).toMatch(/after\nkept\nmore/);

    // `berth addons:info` through the restarted control plane: available, running on its node.
    const home = fs.mkdtempSync("/tmp/berth-addons-restart-");
    try {
      const token = (await owner.tokenClient("restart")).token;
      const info = await runBerth(["addons:info", addon, "-a", APP], { url: srv.url, token, home });
      expect(info.code, info.stderr).toBe(0);
      expect(info.stdout).toMatch(/^State:\s+available, running$/m);
      expect(info.stdout).toMatch(/^Node:\s+pg-node$/m);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
    expect(pidOf(svc!.id)).toBe(pid);
  }, 600_000);

  it("addons:psql and addons:redis-cli: piped input runs in the add-on's image; viewers and other teams are refused", async () => {
    const home = fs.mkdtempSync("/tmp/berth-addons-cli-");
    try {
      const team = (await owner.req<{ team: string }>("GET", `/api/v1/apps/${APP}`)).body.team;
      const token = (await owner.tokenClient("psql")).token;
      const viewer = new ApiClient(srv.url);
      await viewer.signUp("pg-viewer@example.com");
      expect(
        (await owner.req("POST", `/api/v1/teams/${team}/members`, { email: "pg-viewer@example.com", role: "viewer" }))
          .status,
      ).toBe(201);
      const outsider = new ApiClient(srv.url);
      await outsider.signUp("pg-outsider@example.com");
      const as = (t: string, args: string[], stdin: string) => runBerth(args, { url: srv.url, token: t, home, stdin });

      const psql = await as(token, ["addons:psql", "-a", APP], "select 1+1 as two;\n");
      expect(psql.code, psql.stderr).toBe(0);
      expect(psql.stdout).toMatch(/^\s*two\s*$/m);
      expect(psql.stdout).toMatch(/^\s*2\s*$/m);
      const cli = await as(token, ["addons:redis-cli", redis, "-a", APP], "GET k\n");
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toContain("kept");
      // The credentials were never on a command line: the session's command names variables only.
      for (const r of [psql, cli]) expect(r.stdout + r.stderr).not.toMatch(/postgres:\/\/|redis:\/\/|PASSWORD=[^"$]/);

      const denied = await as((await viewer.tokenClient("v")).token, ["addons:psql", "-a", APP], "select 1;\n");
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain("does not allow app:exec");
      const other = await as((await outsider.tokenClient("o")).token, ["addons:psql", addon, "-a", APP], "select 1;\n");
      expect(other.code).toBe(1);
      expect(other.stderr).toContain("not found");
      // No one-off is left in the service apps.
      await until("the sessions' one-offs to go", async () => {
        const left = await srv.cp.services.db.instance.count({ where: { desired: "oneoff" } });
        return left === 0;
      });
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 300_000);

  it("another team's user gets 404 for the add-on and changes nothing", async () => {
    const other = new ApiClient(srv.url);
    await other.signUp("pg-stranger@example.com");
    for (const [method, p] of [
      ["GET", `/api/v1/apps/${APP}/addons`],
      ["GET", `/api/v1/apps/${APP}/addons/${addon}`],
      ["DELETE", `/api/v1/apps/${APP}/addons/${addon}`],
      ["GET", `/api/v1/apps/${addon}`],
      ["GET", `/api/v1/apps/${addon}/config`],
    ] as const) {
      expect((await other.req(method, p)).status, `${method} ${p}`).toBe(404);
    }
    expect((await other.req("POST", `/api/v1/apps/${APP}/addons`, { kind: "postgres" })).status).toBe(404);
    expect((await addonInfo()).state).toBe("available");
  });

  it("another app of the team attaches it and reads the row; another team's app can neither attach nor connect", async () => {
    // Same team: attached under its own name, the app reads what pg-client wrote.
    expect((await owner.req("POST", "/api/v1/apps", { name: APP2 })).status).toBe(201);
    expect((await owner.req("POST", `/api/v1/apps/${APP2}/releases`, { image: `${APP}@${clientDigest}` })).status).toBe(
      201,
    );
    const at = await owner.req("POST", `/api/v1/apps/${APP2}/attachments`, { addon, as: "DATABASE_URL" });
    expect(at.status, JSON.stringify(at.body)).toBe(201);
    const read = await until("the attached app reads the row", async () => {
      const x = await get("/read", APP2);
      return x.body.includes("exit=0") && x;
    });
    expect(read.body).toContain("kept");

    // Another team: 404 when it names the add-on; with the URL itself (password included), the node refuses the
    // connection (the policy keeps teams apart, also through the published port).
    stranger = new ApiClient(srv.url);
    await stranger.signUp("pg-intruder@example.com");
    expect((await stranger.req("POST", "/api/v1/apps", { name: STRANGER })).status).toBe(201);
    expect((await stranger.req("POST", `/api/v1/apps/${STRANGER}/attachments`, { addon })).status).toBe(404);
    const url = (
      await srv.cp.services.db.configVar.findFirstOrThrow({ where: { app: { name: APP }, key: "DATABASE_URL" } })
    ).value;
    expect(
      (await stranger.req("PATCH", `/api/v1/apps/${STRANGER}/config`, { set: { DATABASE_URL: url } })).status,
    ).toBe(200);
    expect(
      (await stranger.req("POST", `/api/v1/apps/${STRANGER}/releases`, { image: `${STRANGER}@${strangerDigest}` }))
        .status,
    ).toBe(201);
    let last = { status: 0, body: "" };
    const refused = await until("the stranger's app answers", async () => {
      last = await get("/read", STRANGER);
      return last.status === 200 && last.body.includes("exit=") && last;
    }).catch(async (err: unknown) => {
      const rel = await stranger?.req("GET", `/api/v1/apps/${STRANGER}/releases`);
      const ps = await stranger?.req("GET", `/api/v1/apps/${STRANGER}/instances`);
      throw new Error(
        `${String(err)}; last ${JSON.stringify(last)}; ${JSON.stringify(rel?.body)}; ${JSON.stringify(ps?.body)}`,
      );
    });
    expect(refused.body).not.toContain("exit=0");
    expect(refused.body).not.toContain("kept");
    console.log(`another team connecting: ${refused.body.trim()}`);
    expect(refused.body).toMatch(/could not connect|Connection refused|timeout/i);
  }, 600_000);

  it("destroying Redis removes its container, volume and REDIS_URL; PostgreSQL keeps running", async () => {
    const [svc] = await serviceInstances(redis);
    const r = await owner.req("DELETE", `/api/v1/apps/${APP}/addons/${redis}`);
    expect(r.status, JSON.stringify(r.body)).toBe(204);
    redis = "";
    expect((await appReleases())[0]?.configKeys).not.toContain("REDIS_URL");
    await until(
      "the redis container is gone",
      async () => !(await inspector.list()).some((c) => c.id === svc?.id),
      60_000,
    );
    expect(await inspector.volumes.list()).toHaveLength(1);
    expect(await rows()).toContain("kept");
  }, 300_000);

  it("destroy removes the container, its netns and cgroup, the volume and DATABASE_URL (one release)", async () => {
    const [svc] = await serviceInstances();
    const id = svc!.id;
    const netns = `/run/netns/${inspector.config.namePrefix}${id}`;
    const cgroup = `/sys/fs/cgroup/memory${inspector.config.cgroupParent}/${id}`;
    expect(fs.existsSync(netns)).toBe(true);
    expect(fs.existsSync(cgroup)).toBe(true);
    const before = (await appReleases()).length;
    const refused = await owner.req("DELETE", `/api/v1/apps/${APP}`);
    expect(refused.status).toBe(409);
    const r = await owner.req("DELETE", `/api/v1/apps/${APP}/addons/${addon}`);
    expect(r.status, JSON.stringify(r.body)).toBe(204);
    const gone = addon;
    addon = "";
    expect((await owner.req("GET", `/api/v1/apps/${APP}/addons`)).body).toEqual([]);
    expect(await srv.cp.services.db.app.findUnique({ where: { name: gone } })).toBeNull();
    const releases = await appReleases();
    expect(releases.length).toBe(before + 1);
    expect(releases[0]?.configKeys).not.toContain("DATABASE_URL");
    expect(await inspector.volumes.list()).toEqual([]);
    await until(
      "the service container is gone",
      async () => !(await inspector.list()).some((c) => c.id === id),
      60_000,
    );
    expect(fs.existsSync(netns)).toBe(false);
    expect(fs.existsSync(cgroup)).toBe(false);
    await until("the app serves without DATABASE_URL", async () => (await get("/url")).body.includes("url=0"));
  }, 300_000);
});
