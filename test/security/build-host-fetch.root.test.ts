// A Dockerfile build must not make the host fetch what the tenant names from the host itself or private networks.
// buildah fetches `ADD <url>` and pulls `FROM host/img` on the host (RUN steps are offline already), and
// `berth deploy --image host/img` has skopeo pull on the host: before, a file served on the host's loopback ended up
// in the image. Targets, all on this machine: the test's own HTTP listener on 127.0.0.1, a listener on 0.0.0.0
// reached through the host's LAN address and the build bridge's gateway; and, as the control that the internet is
// still reachable, a listener with a public-range address (198.51.100.x) inside a network namespace of the test,
// routed through a veth. The registry password never appears in a spawned process's argv (read from /proc while a
// push and a deploy run). Real control plane, real git push through the git endpoint, real buildah, skopeo, registry.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { acquireBuildNamespace, buildNetworkFor, type BuildNamespaceLease } from "../../server/builds/build-network.ts";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const run = promisify(execFile);
const BUSYBOX = "/bin/busybox";
const suffix = randomBytes(3).toString("hex");
const APP = `fetch-${suffix}`;
const MARKER = `host-only-${randomBytes(12).toString("hex")}`;
const CONTROL = `public-ok-${randomBytes(8).toString("hex")}`;
// The control's network namespace: a veth to 10.251.N.0/30 and a public-range address routed through it.
const N = (process.pid % 200) + 20;
const NETNS = `bhftest${N}-${suffix}`;
const VETH = `bhf${suffix}h`;
const VETH_HOST_IP = `10.251.${N}.1`;
const VETH_NS_IP = `10.251.${N}.2`;
const PUBLIC_IP = `198.51.100.${N}`;
const NS_PORT = 18080;

let srv: TestServer;
let owner: ApiClient;
let token = "";
const dirs: string[] = [];
let nsServer: ChildProcess | undefined;

/** An HTTP listener serving MARKER on every path, counting every TCP connection (also TLS attempts). */
class Listener {
  connections = 0;
  readonly server = http.createServer((_req, res) => res.end(`${MARKER}\n`));
  port = 0;
  constructor() {
    this.server.on("connection", () => this.connections++);
  }
  async listen(host: string): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, host, r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
const loopback = new Listener();
const anyAddr = new Listener();

function hostLanIp(): string {
  for (const addrs of Object.values(os.networkInterfaces()))
    for (const a of addrs ?? [])
      if (a.family === "IPv4" && !a.internal && !a.address.startsWith("10.")) return a.address;
  throw new Error("no non-loopback IPv4 address on this host");
}

const gatewayOf = (dataDir: string) => buildNetworkFor(path.join(dataDir, "builder")).subnet.replace(/\.0\/24$/, ".1");

async function push(files: Record<string, string | Buffer>) {
  const d = await makeRepo({ busybox: fs.readFileSync(BUSYBOX), ...files });
  dirs.push(d);
  return git(d, ["push", "--force", remoteUrl(srv.url, APP, token), "main"]);
}

const webApp = (middle: string) =>
  `FROM scratch\nCOPY busybox /bin/busybox\n${middle}\nCMD ["/bin/busybox","httpd","-f","-p","5000"]\n`;

async function releases(): Promise<unknown[]> {
  return (await owner.req<unknown[]>("GET", `/api/v1/apps/${APP}/releases`)).body;
}

/** Files under the data dir (stores, git, database, registry) that contain MARKER; `grep -r` follows no links. */
async function filesWithMarker(): Promise<string[]> {
  const r = await run("grep", ["-r", "-l", "-F", "--", MARKER, srv.dataDir]).then(
    (x) => x.stdout,
    (err: { code?: number; stdout?: string }) => (err.code === 1 ? "" : Promise.reject(err)),
  );
  return r.split("\n").filter(Boolean);
}

/**
 * Reads the argv of every process (/proc/PID/cmdline) until `stop` resolves; returns the argvs that mention `needle`
 * (the registry's address), so the test knows it saw the processes it looks at.
 */
async function watchArgv(needle: string, stop: Promise<unknown>): Promise<string[][]> {
  let done = false;
  void stop.finally(() => (done = true));
  const seen = new Map<string, string[]>();
  while (!done) {
    for (const pid of await fs.promises.readdir("/proc").catch(() => [] as string[])) {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
      const raw = await fs.promises.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (raw.includes(needle)) seen.set(`${pid}:${raw}`, raw.split("\0").filter(Boolean));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return [...seen.values()];
}

describeRoot("builds and image deploys cannot fetch from the host or private networks", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    srv = await startTestServer({}, { registry: true });
    owner = new ApiClient(srv.url);
    expect((await owner.signUp(`fetch-${suffix}@example.com`)).status).toBe(201);
    token = (await owner.tokenClient()).token;
    expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    await loopback.listen("127.0.0.1");
    await anyAddr.listen("0.0.0.0");

    // The control: a "public" address in a namespace of the test, reached by routing through a veth.
    await run("ip", ["netns", "add", NETNS]);
    await run("ip", ["link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NETNS]);
    await run("ip", ["addr", "add", `${VETH_HOST_IP}/30`, "dev", VETH]);
    await run("ip", ["link", "set", VETH, "up"]);
    await run("ip", ["-n", NETNS, "addr", "add", `${VETH_NS_IP}/30`, "dev", "eth0"]);
    await run("ip", ["-n", NETNS, "addr", "add", `${PUBLIC_IP}/32`, "dev", "lo"]);
    await run("ip", ["-n", NETNS, "link", "set", "eth0", "up"]);
    await run("ip", ["-n", NETNS, "link", "set", "lo", "up"]);
    await run("ip", ["route", "add", `${PUBLIC_IP}/32`, "via", VETH_NS_IP, "dev", VETH]);
    const www = fs.mkdtempSync(path.join(os.tmpdir(), "bhf-www-"));
    dirs.push(www);
    fs.writeFileSync(path.join(www, "control"), `${CONTROL}\n`);
    nsServer = spawn("ip", ["netns", "exec", NETNS, BUSYBOX, "httpd", "-f", "-p", String(NS_PORT), "-h", www], {
      stdio: "ignore",
    });
    let up = false;
    for (let i = 0; i < 50 && !up; i++) {
      up = await fetch(`http://${PUBLIC_IP}:${NS_PORT}/control`).then(
        (r) => r.ok,
        () => false,
      );
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    expect(up).toBe(true);
    // The marker listeners work from the host (so a refused fetch below means refused, not down).
    expect(await (await fetch(`http://127.0.0.1:${loopback.port}/marker`)).text()).toContain(MARKER);
    expect(await (await fetch(`http://${hostLanIp()}:${anyAddr.port}/marker`)).text()).toContain(MARKER);
    loopback.connections = 0;
    anyAddr.connections = 0;
  });

  afterAll(async () => {
    if (nsServer?.pid) nsServer.kill("SIGKILL");
    await run("ip", ["route", "del", `${PUBLIC_IP}/32`]).catch(() => undefined);
    await run("ip", ["netns", "del", NETNS]).catch(() => undefined);
    await run("ip", ["link", "del", VETH]).catch(() => undefined);
    await loopback.close();
    await anyAddr.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await srv?.close();
  });

  it("a Dockerfile can still ADD from a public address (the control), and the push never shows the password", async () => {
    const reg = srv.cp.registry();
    const pushed = push({ Dockerfile: webApp(`ADD http://${PUBLIC_IP}:${NS_PORT}/control /control`) });
    const argvs = await watchArgv(reg.host, pushed);
    const p = await pushed;
    expect(p.code, p.out).toBe(0);
    expect(p.out).toMatch(/Released v1/);
    expect(await releases()).toHaveLength(1);
    // The image holds the fetched file (the app's store keeps the Dockerfile build's image as its layer cache).
    expect(fs.readFileSync(await fileInStore("control"), "utf8")).toBe(`${CONTROL}\n`);

    // buildah push to the registry was seen, with an auth file (gone now) instead of credentials in its argv.
    const pushes = argvs.filter(
      (a) => a.includes("push") && a.some((x) => x.startsWith(`docker://${reg.host}/${APP}:`)),
    );
    expect(pushes.length, JSON.stringify(argvs)).toBeGreaterThan(0);
    for (const a of argvs) expect(a.join(" ")).not.toContain(reg.password);
    for (const a of pushes) {
      expect(a).not.toContain("--creds");
      const authFile = a[a.indexOf("--authfile") + 1];
      expect(authFile).toMatch(/auth\.json$/);
      expect(fs.existsSync(authFile!)).toBe(false);
    }
  });

  /** The path of `/name` in the newest layer of the app's store that has it (diff directories, not mounts). */
  async function fileInStore(name: string): Promise<string> {
    const out = await run("find", [path.join(srv.dataDir, "builder", "apps"), "-path", `*/diff/${name}`, "-type", "f"]);
    const file = out.stdout.split("\n").find(Boolean);
    if (!file) throw new Error(`no layer of ${APP} has /${name}`);
    return file;
  }

  const refused = async (what: string, middle: string, listener: () => Listener) => {
    const before = (await releases()).length;
    const p = await push({ Dockerfile: webApp(middle) });
    expect(p.code, p.out).not.toBe(0);
    expect(p.out).toContain("error: build failed");
    expect(p.out, what).not.toContain(MARKER);
    expect(listener().connections, `${what}: the listener was reached`).toBe(0);
    expect(await releases()).toHaveLength(before);
    expect(await filesWithMarker()).toEqual([]);
  };

  it("ADD from the host's loopback fails and fetches nothing", async () => {
    await refused("loopback", `ADD http://127.0.0.1:${loopback.port}/marker /x`, () => loopback);
    await refused("localhost", `ADD http://localhost:${loopback.port}/marker /x`, () => loopback);
  });

  it("ADD from the host's LAN address fails and fetches nothing", async () => {
    await refused("LAN address", `ADD http://${hostLanIp()}:${anyAddr.port}/marker /x`, () => anyAddr);
  });

  it("ADD from the build bridge's gateway (an address of the host) fails and fetches nothing", async () => {
    // Hold the build network so the gateway is an address of this host for the whole test (it is while a build
    // runs anyway): the connection can only ever stay on this machine.
    const lease: BuildNamespaceLease = await acquireBuildNamespace(path.join(srv.dataDir, "builder"));
    try {
      const gw = gatewayOf(srv.dataDir);
      expect(
        Object.values(os.networkInterfaces())
          .flat()
          .some((a) => a?.address === gw),
      ).toBe(true);
      await refused("gateway", `ADD http://${gw}:${anyAddr.port}/marker /x`, () => anyAddr);
    } finally {
      await lease.release();
    }
  });

  it("FROM an image on the host's loopback fails without connecting to it", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const p = await push({ Dockerfile: `FROM ${host}:${loopback.port}/img:latest\nCMD ["x"]\n` });
      expect(p.code, p.out).not.toBe(0);
      expect(p.out).toContain("error: build failed");
      expect(loopback.connections, `FROM ${host}`).toBe(0);
    }
    const p = await push({ Dockerfile: `FROM ${hostLanIp()}:${anyAddr.port}/img:latest\nCMD ["x"]\n` });
    expect(p.code, p.out).not.toBe(0);
    expect(anyAddr.connections).toBe(0);
  });

  it("deploy --image from the host's loopback or LAN address fails without connecting to it", async () => {
    const before = (await releases()).length;
    for (const image of [`127.0.0.1:${loopback.port}/img:latest`, `${hostLanIp()}:${anyAddr.port}/img:latest`]) {
      const r = await owner.req<any>("POST", `/api/v1/apps/${APP}/releases`, { image });
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.error.message).toMatch(/^cannot pull the image/);
      expect(JSON.stringify(r.body)).not.toContain(MARKER);
    }
    expect(loopback.connections).toBe(0);
    expect(anyAddr.connections).toBe(0);
    expect(await releases()).toHaveLength(before);
  });

  it("deploy --image of a platform image passes no password in skopeo's argv", async () => {
    const reg = srv.cp.registry();
    const image = ((await releases()) as { image: string }[])[0]!.image;
    const other = `fetch-copy-${suffix}`;
    expect((await owner.req("POST", "/api/v1/apps", { name: other })).status).toBe(201);
    const deployed = owner.req<any>("POST", `/api/v1/apps/${other}/releases`, { image });
    const argvs = await watchArgv(reg.host, deployed);
    expect((await deployed).status).toBe(201);
    const skopeo = argvs.filter((a) => a.some((x) => x === "skopeo" || x.endsWith("/skopeo")));
    expect(skopeo.length, JSON.stringify(argvs)).toBeGreaterThan(0);
    for (const a of argvs) expect(a.join(" ")).not.toContain(reg.password);
    for (const a of skopeo) expect(a.filter((x) => /creds/.test(x))).toEqual([]);
  });
});
