// The golden path a new user walks, against the real platform on this machine: the shared e2e web server runs
// without an agent, so this spec starts its own `server/main.ts` (dashboard from the built .next, registry, HAProxy
// router and a supervised local node agent: root only) with its own data dir and ports. In the browser: sign up
// (first user = admin), create a team and an app, read the git remote and create an API token; the test pushes a
// tiny busybox app with git while the Deploy tab streams the build; then the app through the router, scaling to 3
// with live instances, live logs, metrics charts, a config change, a rollback and deleting the app. Screenshots
// 69-79 go to e2e-results/screenshots/. afterAll removes everything the platform created (like
// test/root/single-machine.root.test.ts): processes, containers, the bridge, portmap chains, /run dirs, cgroups.
//
// The dashboard must be built first (`npm test -- e2e` and `npm start` do it; the shared web server needs it too).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { freeLoopbackPort } from "../server/lib/free-port.ts";
import { localAgentEnv } from "../server/nodes/local-agent.ts";
import { cleanupBuilder } from "../test/helpers/builder-cleanup.ts";
import { git, makeRepo } from "../test/helpers/git.ts";
import { hostportChainsExist, removeHostportChains } from "../runtime-agent/test-support/iptables-cleanup.ts";
import { removeNetworkPolicy } from "../runtime-agent/runtime/network-policy-applier.ts";
import { shot } from "./screenshots";

const root = path.resolve(import.meta.dirname, "..");
const password = "correct horse battery staple";

// The app: busybox httpd serving a page and a CGI script; a background loop prints a log line every second.
const CGI = `#!/bin/sh
echo "Content-Type: text/plain"
echo ""
echo "instance=$(hostname) greeting=\${GREETING:-none}"
`;
const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
COPY www /www
RUN ["/bin/chmod","755","/www/cgi-bin/who"]
CMD ["sh","-c","i=0; while true; do i=$((i+1)); echo \\"tick $i from $(hostname)\\"; sleep 1; done & exec httpd -f -p 5000 -h /www"]
`;

interface Platform {
  child: ChildProcess;
  url: string;
  routerPort: number;
  output: () => string;
  exited: Promise<number | null>;
}

let dataDir = "";
let chainsExisted = true;
let platform: Platform | undefined;
let repo = "";
/** Set once the app exists and a token can delete it, so afterAll can stop its containers even after a failure. */
let cleanupApp: { name: string; token: string } | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function startPlatform(): Promise<Platform> {
  const port = await freeLoopbackPort();
  const routerPort = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    BERTH_DATA_DIR: dataDir,
    BERTH_PUBLIC_URL: url,
    BERTH_ROUTER_PORT: String(routerPort),
    BERTH_LOG_LEVEL: "warn",
    // HAProxy stops with the platform: a test leaves no router behind.
    BERTH_ROUTER_OUTLIVES: "off",
    NODE_ENV: "production",
  };
  // Everything on: dashboard, registry, router, local agent; the first user signs up in the browser.
  for (const k of ["BERTH_NO_AGENT", "BERTH_NO_DASHBOARD", "BERTH_NO_REGISTRY", "BERTH_NO_ROUTER"]) delete env[k];
  for (const k of ["BERTH_ADMIN_EMAIL", "BERTH_ADMIN_PASSWORD", "BERTH_REGISTRY_PORT", "BERTH_SCHEDULER"])
    delete env[k];
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const p: Platform = { child, url, routerPort, output: () => out, exited };
  await until(
    "/healthz",
    async () => {
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${out.slice(-3000)}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    120_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${out.slice(-3000)}`);
  });
  return p;
}

/** Deletes the app (its containers go with it) and waits until the agent's runc root is empty. */
async function deleteAppAndWait(): Promise<void> {
  if (!platform || !cleanupApp) return;
  await fetch(`${platform.url}/api/v1/apps/${cleanupApp.name}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${cleanupApp.token}` },
  }).catch(() => undefined);
  const runcRoot = localAgentEnv(dataDir, "http://x", "x").BERTH_RUNC_ROOT!;
  await until(
    "the app's containers to go",
    async () => !fs.existsSync(runcRoot) || fs.readdirSync(runcRoot).length === 0,
    60_000,
  ).catch((err: unknown) => console.warn(String(err)));
}

/** GET through the router from the browser page that shows the app (same origin, so no CORS). */
async function fetchInApp(page: Page, urlPath = "/cgi-bin/who"): Promise<{ status: number; body: string }> {
  return page.evaluate(async (p) => {
    try {
      const r = await fetch(p, { cache: "no-store" });
      return { status: r.status, body: await r.text() };
    } catch (e) {
      return { status: 0, body: String(e) };
    }
  }, urlPath);
}

/** The greetings of `n` requests in a row (each answers from one of the instances). */
async function greetings(page: Page, n = 6): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetchInApp(page);
    out.push(r.status === 200 ? (/greeting=(\S*)/.exec(r.body)?.[1] ?? `?${r.body}`) : `status ${r.status}`);
  }
  return [...new Set(out)];
}

test.describe("golden path on the live platform", () => {
  test.skip(process.getuid?.() !== 0, "needs root: the local node agent runs containers (runc, cgroups, CNI, buildah)");

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    if (!fs.existsSync(path.join(root, ".next", "BUILD_ID"))) {
      throw new Error("the dashboard is not built: run `npm test -- e2e` (or `npm start` once) to build .next");
    }
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-golden-live-"));
    chainsExisted = await hostportChainsExist();
    platform = await startPlatform();
  });

  test.afterAll(async () => {
    test.setTimeout(180_000);
    if (!dataDir) return;
    await deleteAppAndWait();
    if (platform && platform.child.exitCode === null) {
      platform.child.kill("SIGTERM");
      const code = await Promise.race([platform.exited, sleep(60_000).then(() => "timeout" as const)]);
      if (code === "timeout") {
        platform.child.kill("SIGKILL");
        await platform.exited;
      }
    }
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
    await cleanupBuilder(dataDir);
    const env = localAgentEnv(dataDir, "http://x", "x");
    try {
      execFileSync("ip", ["link", "delete", env.BERTH_CNI_BRIDGE!], { stdio: "ignore" });
    } catch {
      // never created, or already gone
    }
    if (!chainsExisted) await removeHostportChains();
    // The node's network policy (chains and hooks) is kept while containers may run; the platform is gone now.
    await removeNetworkPolicy(env.BERTH_CNI_BRIDGE!);
    // What the agent may have created for this data dir: runtime dirs on /run and its cgroup parents.
    fs.rmSync(path.dirname(env.BERTH_RUNC_ROOT!), { recursive: true, force: true });
    for (const ctl of fs.existsSync("/sys/fs/cgroup") ? fs.readdirSync("/sys/fs/cgroup") : []) {
      const dir = path.join("/sys/fs/cgroup", ctl, env.BERTH_CGROUP_PARENT!);
      if (fs.existsSync(dir)) fs.rmdirSync(dir);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("sign up, push, open, scale, logs, metrics, config, rollback, delete", async ({ browser }) => {
    test.setTimeout(600_000);
    const p = platform!;
    const id = Date.now().toString(36);
    const email = `live-${id}@example.com`;
    const team = `crew-${id}`;
    const app = `hello-${id}`;
    const appUrl = `http://${app}.localhost:${p.routerPort}/`;
    const context: BrowserContext = await browser.newContext({
      baseURL: p.url,
      viewport: { width: 1280, height: 800 },
    });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: p.url });
    const page = await context.newPage();
    const nav = page.getByRole("navigation", { name: "Main" });
    let token = "";

    await test.step("sign up as the first user (admin), create a team and an app", async () => {
      await page.goto("/signup");
      await expect(page.getByText("becomes its instance admin")).toBeVisible();
      await page.getByLabel("Name").fill("Grace Hopper");
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page).toHaveURL(/\/apps$/);
      const session = (await (await page.request.get("/api/v1/session")).json()) as { user: { isAdmin: boolean } };
      expect(session.user.isAdmin).toBe(true);

      await page.getByRole("button", { name: /Switch team/ }).click();
      await page.getByRole("menuitem", { name: "Create team" }).click();
      await expect(page).toHaveURL(/\/teams\/new$/);
      await page.getByLabel("Team name").fill(team);
      await page.getByRole("button", { name: "Create team" }).click();
      await expect(page).toHaveURL(/\/apps$/);
      await expect(page.getByTestId("current-team")).toHaveText(team);

      await page.getByRole("button", { name: "Create app" }).first().click();
      const dialog = page.getByRole("dialog", { name: "Create an app" });
      await dialog.getByLabel("App name").fill(app);
      await expect(dialog.getByLabel("Team")).toHaveValue(team);
      await dialog.getByRole("button", { name: "Create app" }).click();
      await expect(dialog).toBeHidden();
      await expect(page.getByRole("row", { name: new RegExp(app) }).getByText("Not deployed")).toBeVisible();
      await shot(page, "70-live-apps");
    });

    await test.step("the local node is ready", async () => {
      await until(
        "the local node to be ready",
        async () => {
          const nodes = (await (await page.request.get("/api/v1/nodes")).json()) as { state: string }[];
          return nodes.some((n) => n.state === "ready");
        },
        90_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${p.output().slice(-3000)}`);
      });
      await nav.getByRole("link", { name: "Nodes" }).click();
      const nodes = page.getByRole("table", { name: "Nodes" });
      await expect(nodes.getByText("Ready")).toBeVisible();
      // The local agent runs containers in user namespaces (container root is not host root).
      await expect(nodes.getByRole("columnheader", { name: "User namespaces" })).toBeVisible();
      await expect(nodes.getByText("On", { exact: true })).toBeVisible();
      await shot(page, "69-live-nodes");
    });

    let remote = "";
    await test.step("create an API token on the Tokens page", async () => {
      await nav.getByRole("link", { name: "API tokens" }).click();
      await page.getByRole("button", { name: "Create token" }).first().click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Name").fill("laptop");
      await dialog.getByRole("button", { name: "Create token" }).click();
      await expect(dialog.getByTestId("token-secret")).not.toBeEmpty();
      await dialog.getByRole("button", { name: "Copy token" }).click();
      token = await page.evaluate(() => navigator.clipboard.readText());
      expect(token).toBe(((await dialog.getByTestId("token-secret").textContent()) ?? "").trim());
      await dialog.getByRole("button", { name: "I have copied it" }).click();
      await expect(page.getByRole("row", { name: /laptop/ })).toContainText("Active");
      cleanupApp = { name: app, token };
    });

    await test.step("Deploy tab: copy the git remote, push, watch the build stream live", async () => {
      await page.goto(`/apps/${app}`);
      await page.getByRole("link", { name: "Deploy", exact: true }).click();
      await page.getByRole("button", { name: "Copy git remote URL" }).click();
      remote = await page.evaluate(() => navigator.clipboard.readText());
      expect(remote).toBe(`${p.url}/git/${app}.git`);
      await expect(page.getByTestId("git-remote-url")).toHaveText(remote);
      await expect(page.getByRole("heading", { name: "No builds yet" })).toBeVisible();
      // The stream must be up before the push, or the first lines would only come from the stored log.
      await expect(page.getByText("Live", { exact: true })).toBeVisible();

      repo = await makeRepo({
        Dockerfile: DOCKERFILE,
        busybox: fs.readFileSync("/bin/busybox"),
        "www/index.html": "<h1>hello from berth</h1>\n",
        "www/cgi-bin/who": CGI,
      });
      // Username: the email the Deploy tab shows; password: the API token.
      const withAuth = new URL(remote);
      withAuth.username = email;
      withAuth.password = token;
      let pushDone = false;
      const push = git(repo, ["push", withAuth.toString(), "main"]).then((r) => {
        pushDone = true;
        return r;
      });
      const history = page.getByRole("list", { name: "Build history" });
      await expect(history.getByRole("listitem")).toHaveCount(1, { timeout: 30_000 });
      const log = page.getByRole("log", { name: /^Build output of / });
      await expect(log).toContainText("-----> Building", { timeout: 30_000 });
      await expect(log).toContainText("STEP", { timeout: 60_000 });
      const liveWhilePushing = !pushDone;
      await shot(page, "71-live-deploy-building");
      const r = await push;
      expect(r.code, `${r.out}\n${p.output().slice(-3000)}`).toBe(0);
      expect(r.out).toContain("remote: -----> v1 is running");
      expect(r.out).toContain(appUrl);
      // The build lines were on screen before git push returned (it returns after the rollout).
      expect(liveWhilePushing).toBe(true);
      await expect(history.getByRole("button").first()).toContainText("Succeeded");
      // The rollout's lines follow the build's in the same log, and the header follows the new state.
      await expect(log).toContainText("Released v1");
      await expect(log).toContainText("v1 is running");
      await expect(page.getByRole("heading", { level: 1, name: app }).locator("..")).toContainText("Running");
    });

    let site!: Page;
    await test.step("open the app through the router", async () => {
      await page.getByRole("link", { name: "Overview", exact: true }).click();
      await expect(page.getByText("Current release").locator("..")).toContainText("v1");
      // The app's address in the header opens it in a new tab: chromium resolves *.localhost to loopback.
      const popup = context.waitForEvent("page");
      await page.getByRole("link", { name: new RegExp(`${app}\\.localhost`) }).click();
      site = await popup;
      await site.waitForLoadState();
      expect(site.url()).toBe(appUrl);
      await expect(site.getByRole("heading", { name: "hello from berth" })).toBeVisible();
      await site.setViewportSize({ width: 1280, height: 800 });
      await shot(site, "72-live-app-in-browser");
      await site.goto(`${appUrl}cgi-bin/who`);
      await expect(site.locator("body")).toContainText(new RegExp(`instance=${app}-web-[0-9a-f]{8} greeting=none`));
      const other = await fetch(`http://127.0.0.1:${p.routerPort}/`, { headers: { host: "nobody.localhost" } });
      expect(other.status).toBe(404);
    });

    await test.step("Overview: scale web to 3, instances appear live", async () => {
      await page.bringToFront();
      const instances = page.getByRole("table", { name: `Instances of ${app}` });
      await expect(instances.locator("tbody tr")).toHaveCount(1);
      await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-status", "open");
      await page.evaluate(() => ((window as any).__noReload = true));
      const web = page.getByRole("group", { name: "web instances" });
      await web.getByRole("button", { name: "More web instances" }).click();
      await web.getByRole("button", { name: "More web instances" }).click();
      await expect(web.getByRole("spinbutton")).toHaveValue("3");
      await page.getByRole("button", { name: "Apply…" }).click();
      const dialog = page.getByRole("dialog", { name: "Apply the new formation?" });
      await expect(dialog).toContainText("1 → 3");
      await dialog.getByRole("button", { name: "Apply" }).click();
      await expect(dialog).toBeHidden();
      const running = instances.locator("tbody tr").filter({ hasText: "Running" });
      await expect(running).toHaveCount(3, { timeout: 60_000 });
      expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
      // Ids are APP-web-SUFFIX: the table shows the part that tells the instances apart.
      const ids = await instances.locator("tbody tr td:first-child span[title]").allTextContents();
      expect(new Set(ids).size, ids.join(", ")).toBe(3);
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "73-live-overview-scaled");
      // Requests now spread over the three instances.
      const seen = new Set<string>();
      await until(
        "answers from three instances",
        async () => {
          const r = await fetchInApp(site);
          const m = /instance=(\S+)/.exec(r.body);
          if (m?.[1]) seen.add(m[1]);
          return seen.size === 3;
        },
        30_000,
      );
    });

    await test.step("Logs: the app's lines arrive live", async () => {
      await page.getByRole("link", { name: "Logs", exact: true }).click();
      const box = page.getByRole("log", { name: `Log of ${app}` });
      await expect(box.locator("[data-seq]").filter({ hasText: "tick" }).first()).toBeVisible();
      // From now on, record when each new tick line shows up and when it was printed (conmon's timestamp).
      const start = await page.evaluate(() => {
        const w = window as any;
        const el = document.querySelector("[data-testid='log-lines']")!;
        const seqs = [...el.querySelectorAll("[data-seq]")].map((r) => Number(r.getAttribute("data-seq")));
        const from = Math.max(0, ...seqs);
        w.__ticks = new Map<number, { printed: number; seen: number }>();
        const look = (n: Node) => {
          if (!(n instanceof HTMLElement)) return;
          const rows = n.matches("[data-seq]") ? [n] : [...n.querySelectorAll<HTMLElement>("[data-seq]")];
          for (const r of rows) {
            const seq = Number(r.dataset.seq);
            if (seq <= from || w.__ticks.has(seq) || !r.textContent?.includes("tick")) continue;
            const at = r.querySelector("time")?.getAttribute("datetime");
            if (at) w.__ticks.set(seq, { printed: Date.parse(at), seen: Date.now() });
          }
        };
        new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach(look))).observe(el, {
          childList: true,
          subtree: true,
        });
        return Date.now();
      });
      await expect
        .poll(() => page.evaluate(() => (window as any).__ticks.size as number), { timeout: 5_000 })
        .toBeGreaterThanOrEqual(3);
      const ticks = await page.evaluate(
        () => [...(window as any).__ticks.values()] as { printed: number; seen: number }[],
      );
      const delays = ticks.map((t) => t.seen - t.printed);
      console.log(
        `golden-live: first new tick line on screen ${ticks[0]!.seen - start} ms after watching; ` +
          `print-to-screen delay of ${delays.length} lines: ${delays.join(", ")} ms (max ${Math.max(...delays)} ms)`,
      );
      expect(Math.max(...delays)).toBeLessThan(5_000);
      await expect(page.getByTestId("log-follow")).toHaveText("Following new lines");
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "74-live-logs");
    });

    await test.step("Metrics: CPU and memory charts with data", async () => {
      await page.getByRole("link", { name: "Metrics", exact: true }).click();
      await expect(page.getByTestId("chart")).toHaveCount(4, { timeout: 30_000 });
      await expect(page.locator("canvas")).toHaveCount(4);
      const now = page.getByRole("table", { name: "Current usage" });
      const webRow = now.getByRole("row").filter({ hasText: "web" });
      await expect(webRow).toContainText("3 instances");
      await expect(webRow).toContainText(/\d+(\.\d+)?%/);
      await expect(webRow).toContainText(/\d+(\.\d+)? (KiB|MiB|KB|MB)/);
      // Three 512 MB limits: 1.5 GiB (not rounded to 2).
      await expect(page.getByText("of 1.5 GiB limit")).toBeVisible();
      await page.waitForTimeout(500); // let uPlot finish drawing
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "75-live-metrics");
    });

    await test.step("Config: GREETING=hello rolls out a new release", async () => {
      await page.getByRole("link", { name: "Config", exact: true }).click();
      await page.getByRole("button", { name: "Add variable" }).first().click();
      await page.getByLabel("Name of new variable 1").fill("GREETING");
      await page.getByLabel("Value of new variable 1").fill("hello");
      await page.getByRole("button", { name: "Save changes" }).click();
      await expect(page.getByRole("status").filter({ hasText: "Config saved (1 set)" })).toBeVisible();
      await expect(page.getByTestId("config-row-GREETING")).toBeVisible();
      await shot(page, "76-live-config");

      await page.getByRole("link", { name: "Releases", exact: true }).click();
      const list = page.getByRole("list", { name: `Releases of ${app}` });
      const v2 = list.getByRole("listitem").filter({ has: page.getByRole("button", { name: /^v2 / }) });
      await expect(v2).toContainText(/Pending|Deploying|Deployed/);
      await expect(v2).toContainText("Deployed", { timeout: 120_000 });
      await expect(v2).toContainText("Current");
      await expect.poll(() => greetings(site), { timeout: 30_000 }).toEqual(["hello"]);
    });

    await test.step("Releases: roll back to v1", async () => {
      const list = page.getByRole("list", { name: `Releases of ${app}` });
      await page.getByRole("button", { name: "Roll back to v1" }).click();
      const dialog = page.getByRole("dialog", { name: "Roll back to v1?" });
      await expect(dialog).toContainText("This creates v3");
      await shot(page, "77-live-rollback-dialog");
      await dialog.getByRole("button", { name: "Roll back to v1" }).click();
      await expect(dialog).toBeHidden();
      const v3 = list.getByRole("listitem").filter({ has: page.getByRole("button", { name: /^v3 / }) });
      await expect(v3).toContainText("Deployed", { timeout: 120_000 });
      await expect(v3).toContainText("Current");
      await expect.poll(() => greetings(site), { timeout: 30_000 }).toEqual(["none"]);
      await shot(page, "78-live-releases");
    });

    await test.step("Settings: delete the app", async () => {
      await page.getByRole("link", { name: "Settings", exact: true }).click();
      await page.getByRole("button", { name: `Delete ${app}…` }).click();
      const dialog = page.getByRole("dialog", { name: `Delete ${app}?` });
      await dialog.getByLabel(/to confirm/).fill(app);
      await dialog.getByRole("button", { name: "Delete app" }).click();
      await expect(page).toHaveURL(/\/apps$/);
      await expect(page.getByText(`No apps in ${team} yet`)).toBeVisible();
      await shot(page, "79-live-apps-after-delete");
      // Its instances stop and the router forgets it.
      await expect.poll(async () => (await fetchInApp(site)).status, { timeout: 60_000 }).toBe(404);
      await deleteAppAndWait();
    });
    await context.close();
  });
});
