// The Resources tab against the real platform (own server with a local node agent: root only, see
// e2e/live-platform.ts): push a tiny busybox app, create a PostgreSQL add-on from the dashboard (kind + plan), watch it
// go provisioning -> available without a reload, then find DATABASE_URL (masked) in the Config tab and the add-on's
// release in Releases; capture a backup from its Backups card (listed without a reload, downloadable, restored through
// the type-the-name dialog); destroy it with the type-the-name dialog. A viewer sees the list but no create or destroy
// buttons, and the API refuses the viewer's create anyway.
import fs from "node:fs";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { git, makeRepo } from "../test/helpers/git.ts";
import { useStackCache } from "../test/helpers/stack-cache.ts";
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
let dropStackCache: (() => void) | undefined;

async function signUp(browser: Browser, url: string, email: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  return page;
}

/** Calls the API with the page's session cookie and CSRF token, like the dashboard does. */
async function apiCall(page: Page, method: "GET" | "POST" | "DELETE" | "PATCH", url: string, data?: unknown) {
  const session = await page.request.get("/api/v1/session");
  const csrf = ((await session.json()) as { csrfToken: string }).csrfToken;
  const res = await page.request.fetch(`/api/v1${url}`, { method, data, headers: { "x-csrf-token": csrf } });
  return { status: res.status(), body: (await res.json().catch(() => null)) as unknown };
}

test.describe("Resources tab on the live platform", () => {
  test.skip(process.getuid?.() !== 0, "needs root: the local node agent runs containers (runc, cgroups, CNI, buildah)");

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    // The postgres platform image is built once per machine (debootstrap) and reused from the shared cache.
    dropStackCache = useStackCache();
    platform = await startLivePlatform("berth-e2e-resources-");
  });

  test.afterAll(async () => {
    test.setTimeout(240_000);
    if (platform && cleanupApp) {
      // The app cannot be deleted while it has add-ons (their data would be orphaned): destroy any left first.
      const headers = { authorization: `Bearer ${cleanupApp.token}` };
      const base = `${platform.url}/api/v1/apps/${cleanupApp.name}/addons`;
      const left = (await (await fetch(base, { headers })).json().catch(() => [])) as { name: string }[];
      for (const a of Array.isArray(left) ? left : [])
        await fetch(`${base}/${a.name}`, { method: "DELETE", headers }).catch(() => undefined);
    }
    await platform?.stop(cleanupApp);
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
    dropStackCache?.();
  });

  test("a member creates PostgreSQL, sees it become available and DATABASE_URL in a new release; a viewer cannot", async ({
    browser,
  }) => {
    test.setTimeout(600_000);
    const p = platform!;
    const id = Date.now().toString(36);
    const email = `res-${id}@example.com`;
    const viewerEmail = `res-viewer-${id}@example.com`;
    const team = `resteam-${id}`;
    const app = `res-${id}`;
    const page = await signUp(browser, p.url, email);
    const base = `/apps/${app}`;
    let addon = "";

    await test.step("an app with no add-ons: the tab says so", async () => {
      expect((await apiCall(page, "POST", "/teams", { name: team })).status).toBe(201);
      expect((await apiCall(page, "POST", "/apps", { name: app, team })).status).toBe(201);
      const created = await apiCall(page, "POST", "/tokens", { name: "resources-e2e" });
      expect(created.status).toBe(201);
      cleanupApp = { name: app, token: String((created.body as { token: string }).token) };
      await page.goto(base);
      await page.getByRole("link", { name: "Resources", exact: true }).click();
      await expect(page).toHaveURL(new RegExp(`${base}/resources$`));
      await expect(page.getByRole("heading", { name: "No add-ons yet" })).toBeVisible();
      await expect(page.getByRole("heading", { name: "No volumes" })).toBeVisible();
      await shot(page, "90-resources-empty");
    });

    await test.step("push the app so config changes make releases", async () => {
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
        "www/index.html": "<h1>res</h1>\n",
      });
      const remote = new URL(`${p.url}/git/${app}.git`);
      remote.username = email;
      remote.password = cleanupApp!.token;
      const r = await git(repo, ["push", remote.toString(), "main"]);
      expect(r.code, `${r.out}\n${p.output().slice(-3000)}`).toBe(0);
      expect(r.out).toContain("v1 is running");
    });

    await test.step("create PostgreSQL from the dialog with the keyboard; it goes provisioning -> available", async () => {
      await page.goto(`${base}/resources`);
      await page.getByRole("button", { name: "Create add-on" }).click();
      const dialog = page.getByRole("dialog", { name: "Create add-on" });
      await expect(dialog.getByLabel("Service")).toBeFocused();
      await expect(dialog.getByLabel("Service")).toHaveValue("postgres");
      await dialog.getByLabel("Plan").selectOption("small");
      await expect(dialog).toContainText("512 MiB memory");
      await shot(page, "91-resources-create");
      await dialog.getByRole("button", { name: "Create add-on" }).press("Enter");
      await expect(dialog).toBeHidden();
      const table = page.getByRole("table", { name: "Add-ons" });
      const row = table.getByRole("row").filter({ hasText: /postgres-[0-9a-f]{8}/ });
      await expect(row).toContainText("DATABASE_URL");
      addon = /postgres-[0-9a-f]{8}/.exec((await row.textContent()) ?? "")![0];
      await expect(row).toContainText("15");
      await expect(row).toContainText(/provisioning|available/);
      await shot(page, "92-resources-provisioning");
      // No reload: the list polls while the add-on is provisioning.
      await expect(page.getByTestId(`addon-state-${addon}`)).toHaveText("available", { timeout: 240_000 });
      await shot(page, "93-resources-available");
    });

    await test.step("DATABASE_URL is in Config (masked) and the add-on made a release", async () => {
      await page.getByRole("link", { name: "Config", exact: true }).click();
      await expect(page.getByText("DATABASE_URL", { exact: true })).toBeVisible();
      await expect(page.getByTestId("value-DATABASE_URL")).toContainText("••••••••");
      await expect(page.getByTestId("value-DATABASE_URL")).not.toContainText("postgres://");
      await page.getByRole("link", { name: "Releases", exact: true }).click();
      const releases = page.getByRole("list", { name: `Releases of ${app}` });
      await expect(releases.getByRole("listitem").first()).toContainText(`Add-on ${addon}`);
      await expect(releases.getByRole("listitem").first()).toContainText("v2");
      await shot(page, "94-resources-release");
    });

    await test.step("capture a backup from the Backups card; it is listed, downloadable and restorable", async () => {
      await page.getByRole("link", { name: "Resources", exact: true }).click();
      const card = page.getByRole("heading", { name: `Backups of ${addon}` });
      await expect(card).toBeVisible();
      await expect(page.getByRole("heading", { name: "No backups yet" })).toBeVisible();
      const capture = page.getByRole("button", { name: `Capture a backup of ${addon}` });
      await capture.focus();
      await page.keyboard.press("Enter");
      const table = page.getByRole("table", { name: `Backups of ${addon}` });
      const row = table.getByRole("row").filter({ hasText: /bk-[0-9a-f]{16}/ });
      await expect(row).toHaveCount(1);
      const id = /bk-[0-9a-f]{16}/.exec((await row.textContent()) ?? "")![0];
      // No reload: the list polls while the capture runs.
      await expect(page.getByTestId(`backup-state-${id}`)).toHaveText("completed", { timeout: 120_000 });
      await expect(row).toContainText("manual");
      await expect(row).toContainText(/\d+(\.\d+)? (B|KiB|MiB)/);
      const download = page.getByRole("link", { name: `Download ${id}` });
      await expect(download).toHaveAttribute("href", `/api/v1/apps/${app}/addon-backups/${id}/download`);
      const file = await page.request.get(`/api/v1/apps/${app}/addon-backups/${id}/download`);
      expect(file.status()).toBe(200);
      expect((await file.body()).subarray(0, 5).toString()).toBe("PGDMP");
      await shot(page, "97-resources-backups");
      await page.getByRole("button", { name: `Restore ${id}` }).click();
      const dialog = page.getByRole("dialog", { name: `Restore ${addon} from ${id}?` });
      const confirm = dialog.getByRole("button", { name: "Restore" });
      await expect(confirm).toBeDisabled();
      await dialog.getByRole("textbox").fill(app);
      await expect(confirm).toBeEnabled();
      await shot(page, "98-resources-restore");
      await confirm.click();
      await expect(dialog).toBeHidden({ timeout: 120_000 });
      await expect(page.getByText(`${addon} restored from ${id}`)).toBeVisible();
    });

    await test.step("a viewer sees the add-on but no create or destroy, and the API refuses the create", async () => {
      const viewer = await signUp(browser, p.url, viewerEmail);
      expect(
        (await apiCall(page, "POST", `/teams/${team}/members`, { email: viewerEmail, role: "viewer" })).status,
      ).toBe(201);
      await viewer.goto(`${base}/resources`);
      await expect(viewer.getByTestId(`addon-state-${addon}`)).toHaveText("available");
      await expect(viewer.getByRole("button", { name: "Create add-on" })).toHaveCount(0);
      await expect(viewer.getByRole("button", { name: `Destroy ${addon}` })).toHaveCount(0);
      await expect(viewer.getByRole("table", { name: `Backups of ${addon}` })).toBeVisible();
      await expect(viewer.getByRole("button", { name: `Capture a backup of ${addon}` })).toHaveCount(0);
      expect((await apiCall(viewer, "POST", `/apps/${app}/addons/${addon}/backups`)).status).toBe(403);
      await shot(viewer, "95-resources-viewer");
      expect((await apiCall(viewer, "POST", `/apps/${app}/addons`, { kind: "redis" })).status).toBe(403);
      expect((await apiCall(viewer, "DELETE", `/apps/${app}/addons/${addon}`)).status).toBe(403);
      await viewer.context().close();
    });

    await test.step("destroy asks for the name; then the add-on and DATABASE_URL are gone", async () => {
      await page.goto(`${base}/resources`);
      await page.getByRole("button", { name: `Destroy ${addon}` }).click();
      const dialog = page.getByRole("dialog", { name: `Destroy ${addon}?` });
      const confirm = dialog.getByRole("button", { name: "Destroy add-on" });
      await expect(confirm).toBeDisabled();
      await dialog.getByRole("textbox").fill(addon);
      await expect(confirm).toBeEnabled();
      await shot(page, "96-resources-destroy");
      await confirm.click();
      await expect(dialog).toBeHidden({ timeout: 90_000 });
      await expect(page.getByRole("heading", { name: "No add-ons yet" })).toBeVisible();
      const vars = (await apiCall(page, "GET", `/apps/${app}/config`)).body as { key: string }[];
      expect(vars.map((v) => v.key)).not.toContain("DATABASE_URL");
    });

    await test.step("a volume's latest backup shows in the volumes table", async () => {
      const created = await apiCall(page, "POST", `/apps/${app}/volumes`, {
        name: "data",
        mountPath: "/data",
        sizeMb: 64,
      });
      expect(created.status).toBe(201);
      await until(
        "the volume placed on the node",
        async () => ((await apiCall(page, "GET", `/apps/${app}/volumes/data`)).body as { node: string | null }).node,
        120_000,
      );
      await page.goto(`${base}/resources`);
      const table = page.getByRole("table", { name: "Volumes" });
      await expect(table.getByText("None")).toBeVisible();
      const backup = await until(
        "a volume backup started",
        async () => {
          const r = await apiCall(page, "POST", `/apps/${app}/volumes/data/backups`);
          return r.status === 202 && (r.body as { id: string });
        },
        120_000,
      );
      await until(
        "the volume backup completed",
        async () =>
          ((await apiCall(page, "GET", `/apps/${app}/volume-backups/${backup.id}`)).body as { state: string }).state ===
          "completed",
        120_000,
      );
      await page.reload();
      await expect(page.getByTestId("volume-backups-data")).toContainText("completed");
      await shot(page, "99-resources-volume-backups");
      // The app cannot be destroyed with a volume: scale to 0 and destroy it.
      await apiCall(page, "PATCH", `/apps/${app}/formation`, { updates: [{ type: "web", quantity: 0 }] });
      await until(
        "the volume destroyed",
        async () => (await apiCall(page, "DELETE", `/apps/${app}/volumes/data`)).status === 204,
        120_000,
      );
    });
  });
});
