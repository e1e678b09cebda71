// The Deploy tab: the git remote and push commands copied with one click, the empty build history, and the image
// deploy form disabled for viewers. (The e2e server has no registry or agent, so nothing is built or deployed.)
import os from "node:os";
import path from "node:path";
import { PrismaLibSQL } from "@prisma/adapter-libsql";
import { PrismaClient } from "@prisma/client";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { shot } from "./screenshots";

const password = "correct horse battery staple";
const port = Number(process.env.BERTH_E2E_PORT || 3917);
const dbUrl = `file:${path.join(os.tmpdir(), `berth-e2e-${port}`, "berth.db")}`;
const ESC = "\u001b";

async function signUp(browser: Browser, email: string): Promise<Page> {
  const context = await browser.newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  return page;
}

/** An API call with the page's session cookie and CSRF token. */
async function call(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const session = await (await page.request.get("/api/v1/session")).json();
  const res = await page.request.fetch(`/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", "x-csrf-token": session.csrfToken },
    data: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status(), body: await res.json().catch(() => null) };
}

test("deploy tab: remote and push commands, empty builds, image deploy for members only", async ({ browser }) => {
  const id = Date.now().toString(36);
  const team = `ship-${id}`;
  const app = `web-${id}`;
  const owner = await signUp(browser, `deploy-owner-${id}@example.com`);
  const viewerEmail = `deploy-viewer-${id}@example.com`;
  const viewer = await signUp(browser, viewerEmail);
  expect((await call(owner, "POST", "/teams", { name: team })).status).toBe(201);
  expect((await call(owner, "POST", "/apps", { name: app, team })).status).toBe(201);
  expect((await call(owner, "POST", `/teams/${team}/members`, { email: viewerEmail, role: "viewer" })).status).toBe(
    201,
  );

  await owner.goto(`/apps/${app}/deploy`);
  const remote = owner.getByTestId("git-remote-command");
  await expect(remote).toHaveText(new RegExp(`^git remote add berth http://127\\.0\\.0\\.1:\\d+/git/${app}\\.git$`));
  const url = (await owner.getByTestId("git-remote-url").textContent()) ?? "";
  expect(url).toMatch(new RegExp(`/git/${app}\\.git$`));
  await expect(owner.getByTestId("git-push-command")).toHaveText("git push berth main");

  // One click copies the whole command, and the button says so.
  await owner.getByRole("button", { name: "Copy git remote command" }).click();
  await expect(owner.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(`git remote add berth ${url}`);
  await owner.getByRole("button", { name: "Copy push command" }).click();
  expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe("git push berth main");

  // No builds yet: the empty state says what to do.
  await expect(owner.getByRole("heading", { name: "No builds yet" })).toBeVisible();

  // A member may deploy an image: the form is enabled; a bad reference is caught before any request.
  const image = owner.getByLabel("Image reference");
  await expect(image).toBeEnabled();
  const deploy = owner.getByRole("button", { name: "Deploy image" });
  await expect(deploy).toBeDisabled();
  await image.fill("not an image!");
  await image.blur();
  await expect(owner.getByText("Use a reference like")).toBeVisible();
  await image.fill("registry.example.com/team/app:1.2");
  await expect(deploy).toBeEnabled();
  await owner.evaluate(() => window.scrollTo(0, 0));
  await shot(owner, "40-deploy-tab");

  // The viewer sees the commands but cannot deploy.
  await viewer.goto(`/apps/${app}/deploy`);
  await expect(viewer.getByTestId("git-remote-command")).toBeVisible();
  await expect(viewer.getByLabel("Image reference")).toBeDisabled();
  await expect(viewer.getByRole("button", { name: "Deploy image" })).toBeDisabled();
  await expect(viewer.getByText("Viewers cannot deploy.")).toBeVisible();
  await shot(viewer, "41-deploy-tab-viewer");
});

test("deploy tab: build history with each build's stored log, colours rendered as text", async ({ browser }) => {
  const id = Date.now().toString(36);
  const app = `logs-${id}`;
  const owner = await signUp(browser, `deploy-logs-${id}@example.com`);
  expect((await call(owner, "POST", "/apps", { name: app })).status).toBe(201);
  // Builds as the pipeline leaves them (the e2e server has no registry to build with).
  const db = new PrismaClient({ adapter: new PrismaLibSQL({ url: dbUrl }) });
  try {
    const row = await db.app.findUniqueOrThrow({ where: { name: app } });
    const at = (minAgo: number) => new Date(Date.now() - minAgo * 60_000);
    await db.build.create({
      data: {
        appId: row.id,
        status: "succeeded",
        sourceRef: "refs/heads/main",
        commit: "3f2a9c1b7d3f2a9c1b7d3f2a9c1b7d3f2a9c1b7d",
        imageRef: `${app}@sha256:${"ab".repeat(32)}`,
        output: `-----> Building ${app} from main 3f2a9c1b\n-----> Detected Dockerfile (Dockerfile)\n       STEP 1/2: FROM scratch\n       ${ESC}[32mok${ESC}[0m <b>not bold</b>\n-----> Released v1 (process types: web)\n`,
        createdAt: at(30),
        finishedAt: at(29),
      },
    });
    await db.build.create({
      data: {
        appId: row.id,
        status: "failed",
        sourceRef: "refs/heads/main",
        commit: "9c1b7d3f2a9c1b7d3f2a9c1b7d3f2a9c1b7d3f2a",
        output: `-----> Building ${app} from main 9c1b7d3f\n       ${ESC}[1;31mnpm ERR!${ESC}[0m missing script: build\nerror: build failed: the build exceeded its time limit of 900 s\n       the push was rejected; the running release is unchanged\n`,
        error: "the build exceeded its time limit of 900 s",
        createdAt: at(5),
        finishedAt: at(4),
      },
    });
  } finally {
    await db.$disconnect();
  }

  await owner.goto(`/apps/${app}/deploy`);
  const history = owner.getByRole("list", { name: "Build history" });
  await expect(history.getByRole("listitem")).toHaveCount(2);
  // Newest first; opened from the keyboard.
  const failed = history.getByRole("button").filter({ hasText: "9c1b7d3f" });
  await expect(failed).toContainText("Failed");
  await failed.focus();
  await owner.keyboard.press("Enter");
  await expect(failed).toHaveAttribute("aria-expanded", "true");
  const log = owner.getByRole("log");
  await expect(log).toContainText("missing script: build");
  await expect(log.locator("span.text-red-400", { hasText: "npm ERR!" })).toBeVisible();
  expect(await log.textContent()).not.toContain(`${ESC}[`);

  const ok = history.getByRole("button").filter({ hasText: "3f2a9c1b" });
  await ok.click();
  await expect(failed).toHaveAttribute("aria-expanded", "false");
  await expect(log).toContainText("Released v1");
  // Build text is text: markup in it is shown, never rendered.
  await expect(log).toContainText("<b>not bold</b>");
  expect(await log.locator("b").count()).toBe(0);
  await expect(log.locator("span.text-emerald-400", { hasText: "ok" })).toBeVisible();
  await owner.evaluate(() => window.scrollTo(0, 0));
  await shot(owner, "42-deploy-tab-build-log");
});
