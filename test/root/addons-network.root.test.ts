// Who can connect to an add-on, with real everything (root tier): a PostgreSQL add-on of one app; the owning app
// connects; another app of the same team that knows the address is refused at once (TCP reset, not a timeout); after
// `addons:attach` it connects, after `addons:detach` it is refused again, and the add-on's container is the same
// throughout (the agent's per-app ingress rules change live); another team's app is refused. Also `addons:info`'s
// live figures: the connection count goes up while the app holds a connection open. docs/addons.md, docs/security.md.
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { useStackCache } from "../helpers/stack-cache.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { runBerth } from "../helpers/cli.ts";
import { builderDirOf, stackStorage } from "../../server/builds/builder-stores.ts";
import { pushImage, storageArgs } from "../../server/builds/buildah.ts";
import { ensureStack } from "../../server/builds/stacks/index.ts";

const suffix = Math.random().toString(16).slice(2, 8);
const OWNER = `an-owner-${suffix}`;
const OTHER = `an-other-${suffix}`;
const STRANGER = `an-stranger-${suffix}`;

let env: RootEnv;
let srv: TestServer;
let owner: ApiClient;
let stranger: ApiClient;
let agent: ChildProcess | undefined;
let inspector: OciBackend;
let addon = "";
let url = "";
let serviceId = "";

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GET through the router with the app's Host header; never rejects (status 0 = connection failure). */
function get(urlPath: string, app: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: srv.cp.services.config.routerPort,
        path: urlPath,
        headers: { host: `${app}.localhost` },
        timeout: 60_000,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", () => resolve({ status: 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/**
 * The apps' web process (perl, in the postgres image): /probe opens a TCP connection to the host and port of
 * $PROBE_URL (else $DATABASE_URL) with a 10 s timeout and tells how it went and how long it took; /hold starts a psql
 * on $DATABASE_URL that keeps its connection open for 60 s.
 */
const FRONT = String.raw`use IO::Socket::INET; use Socket; BEGIN { eval { require Time::HiRes; Time::HiRes->import("time") } }
my $s = IO::Socket::INET->new(LocalPort => $ENV{PORT}, Listen => 16, ReuseAddr => 1) or die "listen: $!";
while (my $c = $s->accept) {
  my $req = <$c> // ""; while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
  my ($p) = $req =~ m{^GET (\S+)}; $p //= "/"; my $out = "ok\n";
  if ($p eq "/probe") {
    my ($h, $port) = ($ENV{PROBE_URL} // $ENV{DATABASE_URL} // "") =~ m{@([^:/@]+):(\d+)};
    my $t0 = time; my $e = "no address";
    # A blocking connect under an alarm: its errno is the kernel's own (refused, unreachable) or "timeout".
    my $r = defined $port && eval {
      local $SIG{ALRM} = sub { die "timeout\n" }; alarm 10;
      socket(my $sock, PF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
      my $ok = connect($sock, pack_sockaddr_in($port, inet_aton($h))); $e = "$!" unless $ok; alarm 0; close $sock; $ok
    };
    $e = "timeout" if $@ =~ /timeout/;
    my $ms = int((time - $t0) * 1000);
    $out = $r ? "result=connected ms=$ms\n" : "result=failed ms=$ms error=$e\n";
  } elsif ($p eq "/hold") {
    system(q{(PGCONNECT_TIMEOUT=5 psql "$DATABASE_URL" -Atc "select pg_sleep(60)" >/dev/null 2>&1 &)});
    $out = "holding\n";
  }
  print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n$out"; close $c;
}`;

/** One probe from `app` once its newest release serves: connected, or failed with the error and how long it took. */
async function probe(app: string): Promise<{ connected: boolean; ms: number; text: string }> {
  const r = await until(`${app} answers /probe`, async () => {
    const x = await get("/probe", app);
    return x.status === 200 && x.body.includes("result=") && x;
  });
  return {
    connected: r.body.includes("result=connected"),
    ms: Number(/ms=(\d+)/.exec(r.body)?.[1] ?? NaN),
    text: r.body.trim(),
  };
}

/** Waits until the app's newest release is deployed (its old instances are gone), then probes. */
async function probeAfterRollout(app: string, client: ApiClient) {
  await until(`${app}'s newest release deployed`, async () => {
    const rel = await client.req<{ status: string }[]>("GET", `/api/v1/apps/${app}/releases`);
    return rel.body[0]?.status === "deployed";
  });
  return probe(app);
}

const serviceInstanceIds = async () => {
  const a = await srv.cp.services.db.addon.findFirstOrThrow({ where: { name: addon } });
  return (await srv.cp.services.db.instance.findMany({ where: { appId: a.serviceAppId } })).map((i) => i.id);
};

describeRoot("add-on network: only attached apps connect (real agent, runc, node policy)", () => {
  let restoreCache: () => void = () => undefined;
  let ownerDigest = "";
  let strangerDigest = "";

  beforeAll(async () => {
    if (!isRoot) return;
    restoreCache = useStackCache();
    env = await createRootEnv();
    srv = await startTestServer({ BERTH_ROUTER_PORT: "0" }, { registry: true, router: true });
    owner = new ApiClient(srv.url);
    await owner.signUp(`an-owner-${suffix}@example.com`);
    stranger = new ApiClient(srv.url);
    await stranger.signUp(`an-stranger-${suffix}@example.com`);
    const join = await localJoinToken(srv, "an-node");
    const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    const flags = agentFlagsFor(env, { controlPlane: srv.url, joinToken: join, nodeName: "an-node", portBase });
    inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    agent = spawnAgent(flags);
    await until(
      "node ready",
      async () => (await srv.cp.services.db.node.findUnique({ where: { name: "an-node" } }))?.state === "ready",
    );
    for (const [c, name] of [
      [owner, OWNER],
      [owner, OTHER],
      [stranger, STRANGER],
    ] as const)
      expect((await c.req("POST", "/api/v1/apps", { name })).status).toBe(201);

    // The apps' image: the postgres stack (psql, perl) with the probe front as its command, in each team's own
    // repository (another team's images are not readable).
    const store = stackStorage(builderDirOf(srv.cp.services.config.dataDir));
    const stack = await ensureStack(store, "postgres");
    const g = storageArgs(store);
    const tag = `localhost/an-probe-${suffix}:1`;
    const ctr = execFileSync("buildah", [...g, "from", "--pull=never", "--", stack.image], { encoding: "utf8" }).trim();
    execFileSync("buildah", [...g, "config", "--cmd", JSON.stringify(["perl", "-e", FRONT]), ctr]);
    execFileSync("buildah", [...g, "commit", "--quiet", "--rm", ctr, tag]);
    const registry = srv.cp.services.registry();
    ownerDigest = await pushImage(store, tag, `${OWNER}:probe`, registry, () => undefined);
    strangerDigest = await pushImage(store, tag, `${STRANGER}:probe`, registry, () => undefined);
    execFileSync("buildah", [...g, "rmi", tag]);
  }, 900_000);

  afterAll(async () => {
    const problems: string[] = [];
    if (srv && agent) {
      if (addon)
        await owner
          .req("DELETE", `/api/v1/apps/${OWNER}/addons/${addon}`)
          .catch((e: unknown) => problems.push(String(e)));
      for (const [c, name] of [
        [owner, OWNER],
        [owner, OTHER],
        [stranger, STRANGER],
      ] as const)
        await c
          .req("PATCH", `/api/v1/apps/${name}/formation`, { updates: [{ type: "web", quantity: 0 }] })
          .catch(() => undefined);
      await until("containers gone", async () => (await inspector.list()).length === 0, 90_000).catch((e: unknown) =>
        problems.push(String(e)),
      );
    }
    await stopAgent(agent);
    for (const c of (await inspector?.list()) ?? [])
      await inspector.delete(c.id).catch((e: unknown) => problems.push(String(e)));
    for (const id of (await inspector?.volumeStore.ids()) ?? [])
      await inspector.volumeStore.destroy(id).catch((e: unknown) => problems.push(String(e)));
    await srv?.close();
    problems.push(...((await env?.destroy()) ?? []));
    restoreCache();
    expect(problems).toEqual([]);
  }, 300_000);

  it("the owning app connects; another app of the team and another team's app are refused at once", async () => {
    const created = await owner.req<{ name: string }>("POST", `/api/v1/apps/${OWNER}/addons`, { kind: "postgres" });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    addon = created.body.name;
    await until("add-on available", async () => {
      const i = (
        await owner.req<{ state: string; failReason: string | null }>("GET", `/api/v1/apps/${OWNER}/addons/${addon}`)
      ).body;
      if (i.state === "failed") throw new Error(`add-on failed: ${i.failReason}`);
      return i.state === "available";
    });
    url = (
      await srv.cp.services.db.configVar.findFirstOrThrow({ where: { app: { name: OWNER }, key: "DATABASE_URL" } })
    ).value;
    serviceId = (await serviceInstanceIds())[0] ?? "";
    expect(serviceId).not.toBe("");

    // The other app of the team and the stranger know the address (the stranger even the password) but are not
    // attached: the node refuses their connections.
    expect((await owner.req("PATCH", `/api/v1/apps/${OTHER}/config`, { set: { PROBE_URL: url } })).status).toBe(200);
    expect((await stranger.req("PATCH", `/api/v1/apps/${STRANGER}/config`, { set: { PROBE_URL: url } })).status).toBe(
      200,
    );
    for (const [c, name, digest] of [
      [owner, OWNER, `${OWNER}@${ownerDigest}`],
      [owner, OTHER, `${OWNER}@${ownerDigest}`],
      [stranger, STRANGER, `${STRANGER}@${strangerDigest}`],
    ] as const) {
      const r = await c.req("POST", `/api/v1/apps/${name}/releases`, { image: digest });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }

    const mine = await probeAfterRollout(OWNER, owner);
    console.log(`owner: ${mine.text}`);
    expect(mine.connected, mine.text).toBe(true);
    for (const [c, name] of [
      [owner, OTHER],
      [stranger, STRANGER],
    ] as const) {
      const p = await probeAfterRollout(name, c);
      console.log(`${name}: ${p.text}`);
      expect(p.connected, p.text).toBe(false);
      // Refused, not dropped: the client fails at once or at a SYN retransmit (about 1 s here) instead of waiting for
      // its connect timeout (10 s in the probe).
      expect(p.text).toMatch(/Connection refused/i);
      expect(p.ms).toBeLessThan(5_000);
    }
  }, 900_000);

  it("attach lets the other app connect, detach refuses it again; the add-on's container is never restarted", async () => {
    const at = await owner.req("POST", `/api/v1/apps/${OTHER}/attachments`, { addon, as: "MAIN_DB" });
    expect(at.status, JSON.stringify(at.body)).toBe(201);
    const attached = await probeAfterRollout(OTHER, owner);
    console.log(`attached: ${attached.text}`);
    expect(attached.connected, attached.text).toBe(true);
    expect(await serviceInstanceIds()).toEqual([serviceId]);

    expect((await owner.req("DELETE", `/api/v1/apps/${OTHER}/attachments/${addon}`)).status).toBe(204);
    const detached = await until(
      "the detached app refused",
      async () => {
        const p = await probeAfterRollout(OTHER, owner);
        return !p.connected && p;
      },
      60_000,
    );
    console.log(`detached: ${detached.text}`);
    expect(detached.text).toMatch(/Connection refused/i);
    expect(detached.ms).toBeLessThan(5_000);
    expect(await serviceInstanceIds()).toEqual([serviceId]);
    // The owner still connects, the stranger is still refused.
    expect((await probe(OWNER)).connected).toBe(true);
    expect((await probe(STRANGER)).connected).toBe(false);
  }, 600_000);

  it("addons:info shows the pinned version, data size and a connection count that rises with a client", async () => {
    type Info = { version: string; connections: number | null; dataBytes: number | null; maxConnections: number };
    const info = async () => (await owner.req<Info>("GET", `/api/v1/apps/${OWNER}/addons/${addon}`)).body;
    const before = await until("the add-on reports its connections", async () => {
      const i = await info();
      return i.connections !== null && i;
    });
    expect(before).toMatchObject({ version: "15", maxConnections: 20 });
    expect(before.dataBytes).toBeGreaterThan(1_000_000);
    expect((await get("/hold", OWNER)).body).toContain("holding");
    const during = await until(
      "a connection more",
      async () => {
        const i = await info();
        return i.connections !== null && i.connections > (before.connections ?? 0) && i;
      },
      30_000,
    );
    console.log(`connections: ${before.connections} -> ${during.connections}`);

    const home = fs.mkdtempSync("/tmp/berth-addons-net-cli-");
    try {
      const token = (await owner.tokenClient("info")).token;
      const out = await runBerth(["addons:info", addon, "-a", OWNER], { url: srv.url, token, home });
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/Kind:\s+postgres 15 \(pinned\)/);
      expect(out.stdout).toMatch(/Conns:\s+\d+ of 20/);
      expect(out.stdout).toMatch(/Data:\s+\d+\.\d MiB/);
      // No credentials anywhere in what the CLI and the API show.
      const password = /:\/\/[^:]+:([^@]+)@/.exec(url)?.[1] ?? "none";
      expect(out.stdout + JSON.stringify(during)).not.toContain(password);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 300_000);
});
