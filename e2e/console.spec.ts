// The Console tab against the real platform (own server with a local node agent: root only, see e2e/live-platform.ts):
// push a tiny busybox app, open a console in its web instance, run `echo $BERTH_APP` and see the app's name come
// back from inside the container; the terminal follows the browser's size (`stty size` changes with the window),
// Shift+Tab leaves the terminal to Close session, a closed session says so and offers a new one, an exiting shell
// reports its code. A viewer sees no console, and the endpoint refuses the viewer's own socket anyway.
import fs from "node:fs";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { git, makeRepo } from "../test/helpers/git.ts";
import { startLivePlatform, until, type LivePlatform } from "./live-platform";
import { shot } from "./screenshots";

const password = "correct horse battery staple";
const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
COPY www /www
CMD ["httpd","-f","-p","5000","-h","/www"]
`;

let platform: LivePlatform | undefined;
let repo = "";
let cleanupApp: { name: string; token: string } | undefined;

async function signUp(browser: Browser, url: string, email: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
  const page = await context.newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  return page;
}

/** Calls the API with the page's session cookie and CSRF token, like the dashboard does. */
async function apiCall(page: Page, method: "GET" | "POST", url: string, data?: unknown) {
  const session = await page.request.get("/api/v1/session");
  const csrf = ((await session.json()) as { csrfToken: string }).csrfToken;
  const res = await page.request.fetch(`/api/v1${url}`, { method, data, headers: { "x-csrf-token": csrf } });
  return { status: res.status(), body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}

/** The terminal's rows as text (xterm's DOM renderer), one string per row, trimmed. */
async function terminalLines(page: Page): Promise<string[]> {
  return page
    .getByTestId("console-terminal")
    .locator(".xterm-rows > div")
    .evaluateAll((rows) => rows.map((r) => (r.textContent ?? "").replace(/\u00a0/g, " ").trim()));
}

/**
 * Waits for the shell's prompt (busybox sh drops input typed ahead of it), types a command into the focused terminal
 * and waits for one more row `want` matches than before; returns the newest such row.
 */
async function run(page: Page, command: string, want: RegExp): Promise<string> {
  await expect
    .poll(async () => (await terminalLines(page)).filter(Boolean).at(-1) ?? "", { timeout: 15_000 })
    .toMatch(/[#$]$/);
  const before = (await terminalLines(page)).filter((l) => want.test(l)).length;
  await page.keyboard.type(command);
  await page.keyboard.press("Enter");
  let hits: string[] = [];
  await expect
    .poll(
      async () => {
        hits = (await terminalLines(page)).filter((l) => want.test(l));
        return hits.length;
      },
      { timeout: 15_000 },
    )
    .toBeGreaterThan(before);
  return hits.at(-1)!;
}

test.describe("Console tab on the live platform", () => {
  test.skip(process.getuid?.() !== 0, "needs root: the local node agent runs containers (runc, cgroups, CNI, buildah)");

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    platform = await startLivePlatform("berth-e2e-console-");
  });

  test.afterAll(async () => {
    test.setTimeout(180_000);
    await platform?.stop(cleanupApp);
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
  });

  test("a member runs a command in a running instance; a viewer sees no console", async ({ browser }) => {
    test.setTimeout(300_000);
    const p = platform!;
    const id = Date.now().toString(36);
    const email = `console-${id}@example.com`;
    const viewerEmail = `console-viewer-${id}@example.com`;
    const team = `shell-${id}`;
    const app = `term-${id}`;
    const page = await signUp(browser, p.url, email);
    const base = `/apps/${app}`;

    await test.step("an app with no running instance: the tab says so and links to Deploy", async () => {
      expect((await apiCall(page, "POST", "/teams", { name: team })).status).toBe(201);
      expect((await apiCall(page, "POST", "/apps", { name: app, team })).status).toBe(201);
      const created = await apiCall(page, "POST", "/tokens", { name: "console-e2e" });
      expect(created.status).toBe(201);
      cleanupApp = { name: app, token: String(created.body?.token) };
      await page.goto(base);
      await page.getByRole("link", { name: "Console", exact: true }).click();
      await expect(page).toHaveURL(new RegExp(`${base}/console$`));
      await expect(page.getByRole("heading", { name: "No running instance" })).toBeVisible();
      await expect(page.getByRole("link", { name: "Go to Deploy" })).toHaveAttribute("href", `${base}/deploy`);
      await shot(page, "84-console-empty");
    });

    await test.step("push the app and wait for a running web instance", async () => {
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
      repo = await makeRepo({
        Dockerfile: DOCKERFILE,
        busybox: fs.readFileSync("/bin/busybox"),
        "www/index.html": "<h1>console</h1>\n",
      });
      const remote = new URL(`${p.url}/git/${app}.git`);
      remote.username = email;
      remote.password = cleanupApp!.token;
      const r = await git(repo, ["push", remote.toString(), "main"]);
      expect(r.code, `${r.out}\n${p.output().slice(-3000)}`).toBe(0);
      expect(r.out).toContain("v1 is running");
    });

    await test.step("open a console in the web instance and echo $BERTH_APP", async () => {
      const picker = page.getByLabel("Instance");
      await expect(picker).toBeEnabled();
      await expect(picker.locator("option")).toHaveCount(1);
      await expect(picker.locator("option").first()).toContainText("web");
      await page.getByRole("button", { name: "Open console" }).click();
      await expect(page.getByRole("status").filter({ hasText: `Connected to ${app}-web-` })).toBeVisible({
        timeout: 20_000,
      });
      // Focus is in the terminal: typing goes to the shell without a click.
      await expect(page.locator(".xterm-helper-textarea")).toBeFocused();
      await run(page, "echo $BERTH_APP", new RegExp(`^${app}$`));
      // The command line itself shows the variable, not its value: the name came back from the container.
      expect((await terminalLines(page)).some((l) => l.includes("echo $BERTH_APP"))).toBe(true);
      // Copy: select the output with the mouse (double-click selects the word), Ctrl+Shift+C.
      const row = page
        .getByTestId("console-terminal")
        .locator(".xterm-rows > div")
        .filter({ hasText: new RegExp(`^${app}\\s*$`) });
      const box = (await row.boundingBox())!;
      await page.mouse.dblclick(box.x + 12, box.y + box.height / 2);
      await page.keyboard.press("Control+Shift+C");
      await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(app);
      // Paste: Ctrl+Shift+V types the clipboard into the shell.
      await page.evaluate(() => navigator.clipboard.writeText("echo pasted-$((6*7))"));
      await page.locator(".xterm-helper-textarea").focus();
      await page.keyboard.press("Control+Shift+V");
      await page.keyboard.press("Enter");
      await expect.poll(async () => (await terminalLines(page)).includes("pasted-42"), { timeout: 15_000 }).toBe(true);
      await shot(page, "85-console-session");
    });

    await test.step("the terminal follows the browser's size", async () => {
      const before = await run(page, "stty size", /^\d+ \d+$/);
      await page.setViewportSize({ width: 900, height: 900 });
      await page.locator(".xterm-helper-textarea").focus();
      const after = await run(page, "stty size", /^\d+ \d+$/);
      const [rowsBefore, colsBefore] = before.split(" ").map(Number);
      const [rowsAfter, colsAfter] = after.split(" ").map(Number);
      expect(rowsAfter).toBe(rowsBefore);
      expect(colsAfter).toBeLessThan(colsBefore!);
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await test.step("Shift+Tab leaves the terminal to Close session; a closed session offers a new one", async () => {
      await page.locator(".xterm-helper-textarea").focus();
      await page.keyboard.press("Shift+Tab");
      const close = page.getByRole("button", { name: "Close session" });
      await expect(close).toBeFocused();
      await page.keyboard.press("Enter");
      const ended = page.getByRole("alert").filter({ hasText: "Session ended" });
      await expect(ended).toContainText("You closed the session.");
      await expect(ended).toContainText("Sessions do not survive a reconnect");
      await page.getByRole("button", { name: "Start a new session" }).click();
      await expect(page.getByRole("status").filter({ hasText: "Connected to" })).toBeVisible({ timeout: 20_000 });
      await page.keyboard.type("exit 3");
      await page.keyboard.press("Enter");
      await expect(page.getByRole("alert").filter({ hasText: "Session ended" })).toContainText(
        "The process exited with code 3.",
      );
      await expect(page.getByRole("button", { name: "Start a new session" })).toBeVisible();
      await shot(page, "86-console-ended");
    });

    await test.step("a viewer sees no console, and the endpoint refuses the viewer's socket", async () => {
      const viewer = await signUp(browser, p.url, viewerEmail);
      expect(
        (await apiCall(page, "POST", `/teams/${team}/members`, { email: viewerEmail, role: "viewer" })).status,
      ).toBe(201);
      await viewer.goto(`${base}/console`);
      await expect(viewer.getByRole("heading", { name: "Viewers cannot open a console" })).toBeVisible();
      await expect(viewer.getByRole("button", { name: "Open console" })).toHaveCount(0);
      await expect(viewer.getByTestId("console-terminal")).toHaveCount(0);
      await shot(viewer, "87-console-viewer");
      // The same socket the dashboard opens, from the viewer's page (cookie, same origin): refused with forbidden.
      const refusal = await viewer.evaluate(
        (appName) =>
          new Promise<{ code: number; frames: string[] }>((resolve) => {
            const frames: string[] = [];
            const ws = new WebSocket(`ws://${location.host}/api/v1/apps/${appName}/exec?tty=1&cols=80&rows=24`);
            ws.onmessage = (e) => frames.push(typeof e.data === "string" ? e.data : "binary");
            ws.onclose = (e) => resolve({ code: e.code, frames });
          }),
        app,
      );
      expect(refusal.code).toBe(4403);
      expect(refusal.frames.join("")).toContain('"code":"forbidden"');
      await viewer.context().close();
    });
  });
});
