// `berth formation`, `ps:scale`, `limits:set`, `domains`, `domains:add`, `domains:verify`, `domains:remove` through
// the real binary (domain proofs against a real DNS server on loopback).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { TestDns } from "../helpers/dns.ts";
import { createRelease } from "../../server/releases/releases.ts";

let srv: TestServer;
let dns: TestDns;
let home: string;
let token = "";
let viewerToken = "";
const berth = (args: string[], as = token) => runBerth(args, { url: srv.url, token: as, home });
const formation = async () => {
  const app = await srv.cp.services.db.app.findUniqueOrThrow({ where: { name: "ps-cli" } });
  return srv.cp.services.db.formation.findMany({
    where: { appId: app.id },
    orderBy: { type: "asc" },
    select: { type: true, quantity: true, memoryMb: true, cpu: true, diskMb: true, bandwidthMbit: true },
  });
};

beforeAll(async () => {
  dns = await TestDns.start();
  srv = await startTestServer({ BERTH_DNS_RESOLVER: dns.address });
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-ps-"));
  const owner = new ApiClient(srv.url);
  await owner.signUp("cli-ps@example.com");
  token = (await owner.tokenClient()).token;
  const viewer = new ApiClient(srv.url);
  await viewer.signUp("cli-ps-viewer@example.com");
  viewerToken = (await viewer.tokenClient()).token;
  expect((await owner.req("POST", "/api/v1/teams", { name: "psteam" })).status).toBe(201);
  expect(
    (await owner.req("POST", "/api/v1/teams/psteam/members", { email: "cli-ps-viewer@example.com", role: "viewer" }))
      .status,
  ).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: "ps-cli", team: "psteam" })).status).toBe(201);
  const app = await srv.cp.services.db.app.findUniqueOrThrow({ where: { name: "ps-cli" } });
  await createRelease(srv.cp.services.db, null, {
    appId: app.id,
    teamId: app.teamId,
    appName: app.name,
    imageRef: "ps-cli",
    imageDigest: `sha256:${"d".repeat(64)}`,
    processTypes: { web: "", worker: "run-worker" },
    description: "Deploy",
  });
});
afterAll(async () => {
  fs.rmSync(home, { recursive: true, force: true });
  await srv.close();
  await dns.stop();
});

describe("berth formation, ps:scale, limits:set", () => {
  it("shows the formation as a table and as JSON", async () => {
    const table = await berth(["formation", "-a", "ps-cli"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^TYPE\s+QUANTITY\s+MEMORY\s+CPU\s+DISK\s+BANDWIDTH$/);
    expect(table.stdout).toMatch(/web\s+1\s+512M\s+1\s+1024M\s+100Mbit\/s/);
    const json = await berth(["formation", "-a", "ps-cli", "--json"]);
    // With the default requests: memory = the limit, CPU 0.1.
    expect(JSON.parse(json.stdout)).toEqual([
      {
        type: "web",
        quantity: 1,
        memoryMb: 512,
        cpu: 1,
        diskMb: 1024,
        bandwidthMbit: 100,
        memoryRequestMb: 512,
        cpuRequest: 0.1,
      },
      {
        type: "worker",
        quantity: 0,
        memoryMb: 512,
        cpu: 1,
        diskMb: 1024,
        bandwidthMbit: 100,
        memoryRequestMb: 512,
        cpuRequest: 0.1,
      },
    ]);
  });

  it("scales several types in one change", async () => {
    const r = await berth(["ps:scale", "web=3", "worker=1", "-a", "ps-cli"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Formation of ps-cli changed");
    expect(r.stdout).toMatch(/worker\s+1\s+512M/);
    const json = await berth(["ps:scale", "worker=2", "-a", "ps-cli", "--json"]);
    expect(JSON.parse(json.stdout).find((f: { type: string }) => f.type === "worker").quantity).toBe(2);
    expect((await formation()).map((f) => [f.type, f.quantity])).toEqual([
      ["web", 3],
      ["worker", 2],
    ]);
  });

  it("sets memory (M/G units) and CPU limits", async () => {
    const r = await berth(["limits:set", "web", "--memory", "256M", "--cpu", "0.5", "-a", "ps-cli"]);
    expect(r.code, r.stderr).toBe(0);
    const g = await berth(["limits:set", "worker", "--memory", "1G", "-a", "ps-cli", "--json"]);
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout).find((f: { type: string }) => f.type === "worker")).toEqual({
      type: "worker",
      quantity: 2,
      memoryMb: 1024,
      cpu: 1,
      diskMb: 1024,
      bandwidthMbit: 100,
      memoryRequestMb: 1024,
      cpuRequest: 0.1,
    });
    expect(await formation()).toEqual([
      { type: "web", quantity: 3, memoryMb: 256, cpu: 0.5, diskMb: 1024, bandwidthMbit: 100 },
      { type: "worker", quantity: 2, memoryMb: 1024, cpu: 1, diskMb: 1024, bandwidthMbit: 100 },
    ]);
  });

  it("sets disk (M/G units) and bandwidth (Mbit/s, G = 1000) limits", async () => {
    const r = await berth(["limits:set", "web", "--disk", "2G", "--bandwidth", "50M", "-a", "ps-cli"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/web\s+3\s+256M\s+0\.5\s+2048M\s+50Mbit\/s/);
    const w = await berth(["limits:set", "worker", "--disk", "512", "--bandwidth", "1G", "-a", "ps-cli", "--json"]);
    expect(w.code, w.stderr).toBe(0);
    expect(await formation()).toEqual([
      { type: "web", quantity: 3, memoryMb: 256, cpu: 0.5, diskMb: 2048, bandwidthMbit: 50 },
      { type: "worker", quantity: 2, memoryMb: 1024, cpu: 1, diskMb: 512, bandwidthMbit: 1000 },
    ]);
  });

  it.each([
    ["ps:scale", [["web=x"], ["web=-1"], ["web=1", "web=2"], []]],
    [
      "limits:set",
      [
        ["web"],
        ["web", "--memory", "lots"],
        ["web", "--memory", "1.3M"],
        ["web", "--cpu", "half"],
        ["Web!", "--cpu", "1"],
        ["web", "--disk", "huge"],
        ["web", "--disk", "1.3M"],
        ["web", "--bandwidth", "fast"],
        ["web", "--bandwidth", "1.5M"],
      ],
    ],
  ] as const)("reports %s usage errors with exit code 2 and one line, changing nothing", async (cmd, cases) => {
    const before = await formation();
    for (const rest of cases) {
      const args = [cmd, ...rest, "-a", "ps-cli"];
      const r = await berth(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n")[0], args.join(" ")).toMatch(/^berth: /);
    }
    expect(await formation()).toEqual(before);
  });

  it("says what a malformed scale argument should look like", async () => {
    const r = await berth(["ps:scale", "web", "-a", "ps-cli"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('berth: expected TYPE=N (like web=3), got "web"');
  });

  it("reports server refusals with exit code 1: unknown type, out of range, viewer", async () => {
    const before = await formation();
    const unknown = await berth(["ps:scale", "mailer=1", "-a", "ps-cli"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe("berth: ps-cli has no process type mailer; its types are web, worker");
    const range = await berth(["limits:set", "web", "--memory", "16M", "-a", "ps-cli"]);
    expect(range.code).toBe(1);
    expect(range.stderr).toContain("memoryMb must be from 32 to 65536");
    const smallDisk = await berth(["limits:set", "web", "--disk", "16M", "-a", "ps-cli"]);
    expect(smallDisk.code).toBe(1);
    expect(smallDisk.stderr).toContain("diskMb must be from 64 to 1048576");
    const noBandwidth = await berth(["limits:set", "web", "--bandwidth", "0", "-a", "ps-cli"]);
    expect(noBandwidth.code).toBe(1);
    expect(noBandwidth.stderr).toContain("bandwidthMbit must be from 1 to 100000");
    const tooMany = await berth(["ps:scale", "web=101", "-a", "ps-cli"]);
    expect(tooMany.code).toBe(1);
    const viewer = await berth(["ps:scale", "web=0", "-a", "ps-cli"], viewerToken);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toContain("does not allow app:scale");
    expect((await berth(["formation", "-a", "ps-cli"], viewerToken)).code).toBe(0);
    expect(await formation()).toEqual(before);
  });
});

describe("berth domains", () => {
  it("adds, lists and removes domains", async () => {
    const empty = await berth(["domains", "-a", "ps-cli"]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toContain("ps-cli has no custom domains");
    const add = await berth(["domains:add", "WWW.Example.com", "-a", "ps-cli"]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain("Added www.example.com to ps-cli.");
    expect(add.stdout).toContain("CNAME record for www.example.com to ps-cli.localhost");
    // The proof to publish and the next command.
    expect(add.stdout).toMatch(/_berth-challenge\.www\.example\.com {2}TXT {2}"berth-verify-[0-9a-f]{32}"/);
    expect(add.stdout).toContain("then: berth domains:verify www.example.com -a ps-cli");
    const addJson = await berth(["domains:add", "api.example.com", "-a", "ps-cli", "--json"]);
    expect(JSON.parse(addJson.stdout)).toMatchObject({ hostname: "api.example.com", cname: "ps-cli.localhost" });
    const table = await berth(["domains", "-a", "ps-cli"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^HOSTNAME\s+CNAME TARGET\s+URL\s+ADDED$/);
    expect(table.stdout).toContain("http://www.example.com:");
    expect(table.stdout).toContain("www.example.com");
    expect(table.stdout).toContain("Pending verification");
    expect(table.stdout).toContain("_berth-challenge.api.example.com  TXT");
    const json = await berth(["domains", "-a", "ps-cli", "--json"]);
    expect(JSON.parse(json.stdout).map((d: { hostname: string }) => d.hostname)).toEqual([
      "api.example.com",
      "www.example.com",
    ]);
    const rm = await berth(["domains:remove", "api.example.com", "-a", "ps-cli"]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain("Removed api.example.com from ps-cli.");
    const rmJson = await berth(["domains:remove", "www.example.com", "-a", "ps-cli", "--json"]);
    expect(JSON.parse(rmJson.stdout)).toEqual({ app: "ps-cli", hostname: "www.example.com", removed: true });
    expect(await srv.cp.services.db.domain.count()).toBe(0);
  });

  it("verifies a domain once its TXT record is published", async () => {
    const add = await berth(["domains:add", "proof.example.com", "-a", "ps-cli", "--json"]);
    expect(add.code, add.stderr).toBe(0);
    const claim = JSON.parse(add.stdout) as { verification: { name: string; value: string } };
    const early = await berth(["domains:verify", "proof.example.com", "-a", "ps-cli"]);
    expect(early.code).toBe(1);
    expect(early.stderr.trim()).toBe(
      `berth: no TXT record found at _berth-challenge.proof.example.com; publish one with the value ${claim.verification.value} (DNS changes can take a while to show)`,
    );
    await dns.setTxt({ [claim.verification.name]: [claim.verification.value] });
    const ok = await berth(["domains:verify", "proof.example.com", "-a", "ps-cli"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^Verified proof\.example\.com: it routes to ps-cli at http:\/\/proof\.example\.com/);
    const json = await berth(["domains", "-a", "ps-cli", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject([{ hostname: "proof.example.com", status: "verified" }]);
    const table = await berth(["domains", "-a", "ps-cli"]);
    expect(table.stdout).not.toContain("Pending verification");
    expect((await berth(["domains:verify", "proof.example.com", "-a", "ps-cli"], viewerToken)).stderr).toContain(
      "does not allow app:update",
    );
    expect((await berth(["domains:remove", "proof.example.com", "-a", "ps-cli"])).code).toBe(0);
  });

  it("reports bad hostnames, conflicts and missing domains in one line", async () => {
    const usage = await berth(["domains:add", "http://x.com/", "-a", "ps-cli"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr.trim()).toMatch(/^berth: expected a hostname like www.example.com/);
    const missing = await berth(["domains:add", "-a", "ps-cli"]);
    expect(missing.code).toBe(2);
    const platform = await berth(["domains:add", "x.localhost", "-a", "ps-cli"]);
    expect(platform.code).toBe(1);
    expect(platform.stderr.trim().split("\n")).toHaveLength(1);
    expect(platform.stderr).toContain("platform's own namespace");
    const ip = await berth(["domains:add", "10.0.0.1", "-a", "ps-cli"]);
    expect(ip.code).toBe(1);
    expect(ip.stderr.trim()).toBe("berth: an IP address is not a domain name");
    await berth(["domains:add", "shop.example.com", "-a", "ps-cli"]);
    const dup = await berth(["domains:add", "shop.example.com", "-a", "ps-cli"]);
    expect(dup.code).toBe(1);
    const gone = await berth(["domains:remove", "nope.example.com", "-a", "ps-cli"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe("berth: domain nope.example.com of app 'ps-cli' not found");
    const viewer = await berth(["domains:remove", "shop.example.com", "-a", "ps-cli"], viewerToken);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toContain("does not allow app:update");
    expect(await srv.cp.services.db.domain.count({ where: { hostname: "shop.example.com" } })).toBe(1);
  });
});
