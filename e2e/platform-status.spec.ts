// The Platform status page against the real platform (own server with registry, router and local agent: root only,
// see e2e/live-platform.ts): the instance admin sees every component ok; a frozen registry shows as not ok within a
// poll, and once it is killed the supervisor brings it back: ok again with one restart and SIGKILL as its last exit.
// A second user gets no Platform tab, and the page tells them it is for the instance admin.
import fs from "node:fs";
import path from "node:path";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { startLivePlatform, type LivePlatform } from "./live-platform";
import { shot } from "./screenshots";

const password = "correct horse battery staple";
let platform: LivePlatform | undefined;

async function signUp(browser: Browser, url: string, email: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  return page;
}

/** Pid of the platform's docker-registry (started with its own config file under the data dir). */
function registryPid(dataDir: string): number | undefined {
  const config = path.join(dataDir, "registry", "config.yml");
  for (const p of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").includes(config)) return Number(p);
    } catch {
      // gone
    }
  }
  return undefined;
}

test.describe("Platform status page on the live platform", () => {
  test.skip(process.getuid?.() !== 0, "needs root: the local node agent runs containers (runc, cgroups, CNI, buildah)");

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    platform = await startLivePlatform("berth-e2e-status-");
  });

  test.afterAll(async () => {
    test.setTimeout(180_000);
    await platform?.stop();
  });

  test("the admin watches a registry crash and recovery; others are refused", async ({ browser }) => {
    test.setTimeout(240_000);
    const p = platform!;
    const id = Date.now().toString(36);
    const page = await signUp(browser, p.url, `status-admin-${id}@example.com`);
    const table = page.getByRole("table", { name: "Platform components" });
    const row = (name: string) => table.getByRole("row").filter({ has: page.getByText(name, { exact: true }) });

    await test.step("the Platform tab shows every component ok", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Platform" }).click();
      await expect(page).toHaveURL(/\/status$/);
      await expect(page.getByRole("heading", { name: "Platform status" })).toBeVisible();
      for (const name of ["database", "registry", "router", "local-agent", "nodes", "disk"]) {
        await expect(row(name)).toBeVisible();
      }
      // The local agent needs a moment to connect after start.
      await expect(page.getByText("Platform ok")).toBeVisible({ timeout: 60_000 });
      await expect(row("registry").getByText("Ok")).toBeVisible();
      await shot(page, "90-platform-status-ok");
    });

    const pid = registryPid(p.dataDir);
    expect(pid).toBeDefined();
    await test.step("a frozen registry is named within one refresh", async () => {
      process.kill(pid!, "SIGSTOP");
      try {
        await expect(row("registry").getByText(/^(Down|Restarting)$/)).toBeVisible({ timeout: 20_000 });
        await expect(page.getByText("Platform degraded")).toBeVisible();
        await shot(page, "91-platform-status-registry-down");
      } finally {
        process.kill(pid!, "SIGKILL");
      }
    });

    await test.step("killed, it is restarted: ok again, one restart, last exit SIGKILL", async () => {
      await expect(page.getByText("Platform ok")).toBeVisible({ timeout: 30_000 });
      await expect(row("registry").getByText("SIGKILL")).toBeVisible();
      await expect(row("registry").getByRole("cell", { name: "1", exact: true })).toBeVisible();
      await shot(page, "92-platform-status-recovered");
    });

    await test.step("another user has no Platform tab and is told the page is for the instance admin", async () => {
      const other = await signUp(browser, p.url, `status-user-${id}@example.com`);
      await expect(other.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Platform" })).toHaveCount(
        0,
      );
      await other.goto("/status");
      const refused = other.getByRole("alert").filter({ hasText: "You do not have access" });
      await expect(refused).toContainText("Only the instance admin sees the platform status.");
      await shot(other, "93-platform-status-refused");
      await other.context().close();
    });
  });
});
