// Volumes in the Resources tab (no node needed: a volume is placed when its first instance starts, and one that
// was never placed is destroyed without asking a node). An admin creates one from the dashboard with the keyboard:
// bad input is explained under each field and sends nothing, the server's refusal (a second volume at the same
// mount path) is shown in the form, a good one appears in the list; then destroys it with the type-the-name dialog.
// Members and viewers see the list but no create or destroy buttons, and the API refuses them anyway.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { shot } from "./screenshots";

const password = "correct horse battery staple";

async function signUp(browser: Browser, email: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  return page;
}

/** Calls the API with the page's session cookie and CSRF token, like the dashboard does. */
async function apiCall(page: Page, method: "GET" | "POST" | "DELETE", url: string, data?: unknown) {
  const session = await page.request.get("/api/v1/session");
  const csrf = ((await session.json()) as { csrfToken: string }).csrfToken;
  const res = await page.request.fetch(`/api/v1${url}`, { method, data, headers: { "x-csrf-token": csrf } });
  return { status: res.status(), body: (await res.json().catch(() => null)) as unknown };
}

const volumeNames = async (page: Page, app: string) =>
  ((await apiCall(page, "GET", `/apps/${app}/volumes`)).body as { name: string }[]).map((v) => v.name);

test("an admin creates and destroys a volume from the Resources tab; members and viewers only see it", async ({
  browser,
}) => {
  const id = Date.now().toString(36);
  const team = `vol-${id}`;
  const app = `vol-app-${id}`;
  const base = `/apps/${app}`;
  const owner = await signUp(browser, `vol-owner-${id}@example.com`);
  expect((await apiCall(owner, "POST", "/teams", { name: team })).status).toBe(201);
  expect((await apiCall(owner, "POST", "/apps", { name: app, team })).status).toBe(201);

  await test.step("empty state with a create button", async () => {
    await owner.goto(`${base}/resources`);
    await expect(owner.getByRole("heading", { name: "No volumes" })).toBeVisible();
    await expect(owner.getByRole("button", { name: "Create volume" })).toBeVisible();
  });

  const dialog = owner.getByRole("dialog", { name: "Create volume" });
  await test.step("bad input is explained under each field and nothing is sent", async () => {
    await owner.getByRole("button", { name: "Create volume" }).focus();
    await owner.keyboard.press("Enter");
    await expect(dialog).toBeVisible();
    // The name field has the focus: the whole form is filled from the keyboard.
    await expect(dialog.getByLabel("Name")).toBeFocused();
    await owner.keyboard.type("Data_1");
    await owner.keyboard.press("Tab");
    await owner.keyboard.press("ControlOrMeta+a");
    await owner.keyboard.type("10M");
    await dialog.getByLabel("Mount path").fill("/proc/x");
    await dialog.getByLabel("Mount path").press("Enter");
    await expect(dialog.getByText("Start with a lowercase letter", { exact: false })).toBeVisible();
    await expect(dialog.getByText("Use a size from 64 MiB to 1 TiB.")).toBeVisible();
    await expect(dialog.getByText("not /etc or below /proc", { exact: false })).toBeVisible();
    await expect(dialog.getByLabel("Name")).toBeFocused();
    await expect(dialog.getByLabel("Name")).toHaveAttribute("aria-invalid", "true");
    await shot(owner, "100-volumes-create-errors");
    expect(await volumeNames(owner, app)).toEqual([]);
  });

  await test.step("a good volume is created and listed", async () => {
    await dialog.getByLabel("Name").fill("data");
    await dialog.getByLabel("Size").fill("1.5G");
    await expect(dialog.getByText("1536 MiB; writes past it fail.")).toBeVisible();
    await dialog.getByLabel("Mount path").fill("/data");
    await expect(dialog.getByLabel("Process type")).toHaveValue("web");
    await shot(owner, "101-volumes-create");
    await dialog.getByLabel("Mount path").press("Enter");
    await expect(dialog).toBeHidden();
    const table = owner.getByRole("table", { name: "Volumes" });
    const row = table.getByRole("row").filter({ hasText: "data" });
    await expect(row).toContainText("1536 MiB");
    await expect(row).toContainText("/data");
    await expect(row).toContainText("web");
    await expect(row).toContainText("not placed yet");
    expect(await volumeNames(owner, app)).toEqual(["data"]);
  });

  await test.step("the server's refusal is shown in the form: a second volume at the same mount path", async () => {
    await owner.getByRole("button", { name: "Create volume" }).click();
    await dialog.getByLabel("Name").fill("more");
    await dialog.getByRole("button", { name: "Create volume" }).click();
    await expect(dialog.getByRole("alert")).toContainText(/web already mounts a volume at \/data/i);
    await shot(owner, "102-volumes-create-conflict");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
    expect(await volumeNames(owner, app)).toEqual(["data"]);
    await shot(owner, "103-volumes-list");
  });

  await test.step("members and viewers see the volume but no buttons; the API refuses them", async () => {
    for (const role of ["member", "viewer"] as const) {
      const email = `vol-${role}-${id}@example.com`;
      const other = await signUp(browser, email);
      expect((await apiCall(owner, "POST", `/teams/${team}/members`, { email, role })).status).toBe(201);
      await other.goto(`${base}/resources`);
      await expect(other.getByRole("table", { name: "Volumes" })).toContainText("data");
      await expect(other.getByRole("button", { name: "Create volume" })).toHaveCount(0);
      await expect(other.getByRole("button", { name: "Destroy volume data" })).toHaveCount(0);
      await expect(other.getByText("admins and owners create and destroy them")).toBeVisible();
      if (role === "viewer") await shot(other, "104-volumes-viewer");
      const body = { name: "other", sizeMb: 64, mountPath: "/other", processType: "web" };
      expect((await apiCall(other, "POST", `/apps/${app}/volumes`, body)).status).toBe(403);
      expect((await apiCall(other, "DELETE", `/apps/${app}/volumes/data`)).status).toBe(403);
      await other.context().close();
    }
    expect(await volumeNames(owner, app)).toEqual(["data"]);
  });

  await test.step("destroy asks for the volume's name, then it is gone", async () => {
    await owner.getByRole("button", { name: "Destroy volume data" }).click();
    const confirm = owner.getByRole("dialog", { name: "Destroy volume data?" });
    const button = confirm.getByRole("button", { name: "Destroy volume" });
    await expect(button).toBeDisabled();
    await expect(confirm.getByLabel("Type data to confirm")).toBeFocused();
    await owner.keyboard.type("dat");
    await owner.keyboard.press("Enter");
    await expect(confirm).toBeVisible();
    await owner.keyboard.type("a");
    await expect(button).toBeEnabled();
    await shot(owner, "105-volumes-destroy");
    await owner.keyboard.press("Enter");
    await expect(confirm).toBeHidden();
    await expect(owner.getByRole("heading", { name: "No volumes" })).toBeVisible();
    expect(await volumeNames(owner, app)).toEqual([]);
  });

  // The app goes too (nothing of the run is left in the e2e server's data dir but the users and the team).
  expect((await apiCall(owner, "DELETE", `/apps/${app}`)).status).toBe(204);
  await owner.context().close();
});
