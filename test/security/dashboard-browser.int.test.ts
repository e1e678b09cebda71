// Finding 7 of issue 12, the dashboard part, in a real browser (Debian's chromium) against the real control plane
// serving the production build of the dashboard:
// - `/login?next=/%09/evil.test/x` sent a signed-in user to http://evil.test/x (browsers drop the tab and read
//   `/\/evil.test` as `//evil.test`); only same-origin paths may be followed now.
// - Pages had no Content-Security-Policy, no framing protection, no Referrer-Policy and no nosniff.
// No request leaves the machine: the browser resolves no name at all (--host-resolver-rules) and every request to
// another origin is answered by the test itself (and recorded) before it could be sent.
import { execFileSync } from "node:child_process";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext } from "@playwright/test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const root = path.resolve(import.meta.dirname, "..", "..");
let srv: TestServer;
let browser: Browser;
let context: BrowserContext;
/** Requests the browser tried to send to any other origin. */
const offsite: string[] = [];
/** Loopback origins of the test's own framing page (not intercepted). */
const framerOrigins = new Set<string>();
/** Console messages about CSP violations (a policy that broke the page would show here). */
const violations: string[] = [];

beforeAll(async () => {
  // The production build the control plane serves (skipped when its inputs have not changed since the last build).
  execFileSync(
    process.execPath,
    ["--input-type=module", "-e", "(await import('./scripts/prepare.mjs')).buildDashboard()"],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  srv = await startTestServer({}, { dashboard: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE 127.0.0.2",
    ],
  });
  context = await browser.newContext({ baseURL: srv.url });
  await context.route(
    (url) => url.origin !== srv.url && !framerOrigins.has(url.origin),
    async (route) => {
      offsite.push(route.request().url());
      await route.fulfill({ status: 200, contentType: "text/html", body: "<h1>evil.test</h1>" });
    },
  );
  const signup = await context.request.post("/api/v1/auth/signup", {
    data: { email: "next-victim@example.com", password: "tide pool lantern" },
  });
  expect(signup.status()).toBe(201);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await srv?.close();
});

describe("the sign-in redirect follows same-origin paths only", () => {
  for (const next of [
    "/%09/evil.test/x",
    "/%0a/evil.test/x",
    "/%5C/evil.test/x",
    "/%5Cevil.test/x",
    "//evil.test/x",
    "/%2F/evil.test/x",
    "https://evil.test/x",
    "/%20/evil.test/x",
  ]) {
    it(`a signed-in visit to /login?next=${next} stays on the dashboard`, async () => {
      const page = await context.newPage();
      page.on("console", (m) => {
        if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
      });
      offsite.length = 0;
      await page.goto(`/login?next=${next}`);
      // Signed in, the page moves on at once: to the fallback (/apps) for anything not a same-origin path.
      // Generous: under a whole-suite run on 2 cores the first navigation of a page once took over 20 s.
      await page.waitForURL((u) => u.pathname !== "/login", { timeout: 45_000 });
      await page.waitForLoadState("networkidle");
      expect(offsite, `requests to other origins for next=${next}`).toEqual([]);
      expect(new URL(page.url()).origin).toBe(srv.url);
      expect(new URL(page.url()).pathname).toBe("/apps");
      await page.close();
    });
  }

  it("still follows a same-origin path after signing in through the form", async () => {
    const fresh = await browser.newContext({ baseURL: srv.url });
    try {
      const page = await fresh.newPage();
      page.on("console", (m) => {
        if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto("/login?next=%2Ftokens%3Ftab%3Dall");
      await page.getByLabel("Email").fill("next-victim@example.com");
      await page.getByLabel("Password").fill("tide pool lantern");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL((u) => u.pathname === "/tokens", { timeout: 20_000 });
      expect(new URL(page.url()).search).toBe("?tab=all");
      // The page is alive under the policy: its client code ran and rendered the signed-in shell.
      await expect
        .poll(async () => page.getByRole("heading", { name: /tokens/i }).count(), { timeout: 20_000 })
        .toBeGreaterThan(0);
    } finally {
      await fresh.close();
    }
    expect(violations).toEqual([]);
  });
});

describe("dashboard pages carry the hardening headers", () => {
  it("a nonce-based CSP that the page's own scripts carry, no framing, nosniff, a strict referrer policy", async () => {
    const res = await fetch(`${srv.url}/login`);
    const html = await res.text();
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce, csp).toBeTruthy();
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("same-origin");
    expect(res.headers.get("strict-transport-security")).toBeNull();
    // Every script the page ships carries this response's nonce (so the browser runs them and nothing injected).
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    // A fresh nonce per response.
    const again = (await fetch(`${srv.url}/login`)).headers.get("content-security-policy") ?? "";
    expect(again).not.toContain(nonce);
  });

  it("a page cannot be framed by another site", async () => {
    // Another origin on loopback (127.0.0.2: same machine, so the browser's private-network rules do not interfere)
    // serving a page that frames the dashboard's sign-in form.
    const framer = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" }).end(`<iframe id="f" src="${srv.url}/login"></iframe>`);
    });
    await new Promise<void>((resolve) => framer.listen(0, "127.0.0.2", resolve));
    const framerUrl = `http://127.0.0.2:${(framer.address() as net.AddressInfo).port}/`;
    framerOrigins.add(new URL(framerUrl).origin);
    const page = await context.newPage();
    try {
      await page.goto(framerUrl);
      await page
        .locator("#f")
        .evaluate((el) =>
          (el as HTMLIFrameElement).contentWindow ? new Promise((r) => setTimeout(r, 3000)) : undefined,
        );
      const frame = page.frames().find((f) => f.url().startsWith(srv.url));
      const forms = frame
        ? await frame
            .locator("form")
            .count()
            .catch(() => 0)
        : 0;
      expect(
        forms,
        `frames: ${page
          .frames()
          .map((f) => f.url())
          .join(", ")}`,
      ).toBe(0);
    } finally {
      await page.close();
      framer.closeAllConnections();
      await new Promise<void>((resolve) => framer.close(() => resolve()));
    }
  });
});
