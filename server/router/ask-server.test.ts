import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ASK_PATH, AskServer, decideAsk, type AskDecision } from "./ask-server.ts";

const hosts = new Set(["shop.example.test", "www.shop.example"]);
const q = (domain: string) => `${ASK_PATH}?domain=${encodeURIComponent(domain)}`;

describe("decideAsk", () => {
  it.each(["shop.example.test", "www.shop.example"])("allows %s, a TLS host of the table", (domain) => {
    expect(decideAsk("GET", q(domain), hosts)).toEqual({ domain, allowed: true });
  });

  it.each<[string, string | undefined, string]>([
    ["a host not in the table", "GET", q("other.example.test")],
    ["a different case", "GET", q("SHOP.example.test")],
    ["a trailing dot", "GET", q("shop.example.test.")],
    ["a port", "GET", q("shop.example.test:443")],
    ["a parent domain", "GET", q("example.test")],
    ["a subdomain", "GET", q("a.shop.example.test")],
    ["a wildcard", "GET", q("*.example.test")],
    ["an empty domain", "GET", q("")],
    ["no domain", "GET", ASK_PATH],
    ["two domains", "GET", `${q("shop.example.test")}&domain=shop.example.test`],
    ["another parameter", "GET", `${q("shop.example.test")}&x=1`],
    ["another path", "GET", `/other?domain=shop.example.test`],
    ["a sub path", "GET", `${ASK_PATH}/x?domain=shop.example.test`],
    ["POST", "POST", q("shop.example.test")],
    ["HEAD", "HEAD", q("shop.example.test")],
    ["no method", undefined, q("shop.example.test")],
    ["a NUL byte", "GET", q("shop.example.test\0")],
    ["an unparsable URL", "GET", "http://[::1"],
  ])("refuses %s", (_name, method, url) => {
    expect(decideAsk(method, url, hosts).allowed).toBe(false);
  });

  it("refuses names that never get TLS even if they are in the set", () => {
    const odd = new Set(["x.localhost", "localhost", "127.0.0.1", "intranet"]);
    for (const domain of odd) expect(decideAsk("GET", q(domain), odd).allowed).toBe(false);
  });

  it("reports the asked domain cut to 253 characters", () => {
    expect(decideAsk("GET", q("a".repeat(400)), hosts)).toEqual({ domain: "a".repeat(253), allowed: false });
  });
});

describe("AskServer", () => {
  const server = new AskServer((d) => seen.push(d));
  const seen: AskDecision[] = [];
  let url = "";

  beforeAll(async () => {
    url = await server.start();
  });
  afterAll(() => server.stop());

  function get(path: string, method = "GET"): Promise<{ status: number; body: string }> {
    const { port } = new URL(url);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: Number(port), path, method, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("listens on loopback at ASK_PATH", () => {
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:[0-9]+${ASK_PATH}$`));
  });

  it("answers 200 only for the current hosts and 404 for anything else", async () => {
    expect((await get(q("shop.example.test"))).status).toBe(404); // nothing allowed before setHosts
    server.setHosts(["shop.example.test"]);
    expect(await get(q("shop.example.test"))).toEqual({ status: 200, body: "yes\n" });
    expect(await get(q("www.shop.example"))).toEqual({ status: 404, body: "no\n" });
    expect((await get(q("shop.example.test"), "POST")).status).toBe(404);
    expect((await get("/?domain=shop.example.test")).status).toBe(404);
    server.setHosts(["www.shop.example"]);
    expect((await get(q("shop.example.test"))).status).toBe(404);
    expect((await get(q("www.shop.example"))).status).toBe(200);
    expect(seen.map((d) => [d.domain, d.allowed])).toEqual([
      ["shop.example.test", false],
      ["shop.example.test", true],
      ["www.shop.example", false],
      ["shop.example.test", false],
      ["shop.example.test", false],
      ["shop.example.test", false],
      ["www.shop.example", true],
    ]);
  });

  it("says yes to a host once per cooldown (a failed order is not retried at every handshake)", async () => {
    server.setHosts(["shop.example.test", "www.shop.example"]);
    // www.shop.example got its yes in the test above: refused now, whatever the table says.
    expect((await get(q("www.shop.example"))).status).toBe(404);
    let clock = 1_000_000;
    const quick = new AskServer(undefined, 60_000, () => clock);
    const quickUrl = await quick.start();
    try {
      quick.setHosts(["a.example.test"]);
      const ask = async () => (await fetch(`${quickUrl}?domain=a.example.test`)).status;
      expect(await ask()).toBe(200);
      clock += 59_999;
      expect(await ask()).toBe(404);
      clock += 1;
      expect(await ask()).toBe(200);
    } finally {
      await quick.stop();
    }
  });

  it("stops listening on stop(), and a second stop() is harmless", async () => {
    const other = new AskServer();
    const otherUrl = await other.start();
    await other.stop();
    await other.stop();
    await expect(fetch(`${otherUrl}?domain=shop.example.test`)).rejects.toThrow();
  });
});
