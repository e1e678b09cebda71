// Live streams in the dashboard when access ends (issue 12, finding 4): the server ends the subscription or closes
// the stream, and the open page reacts by itself, without a reload: an app the user lost shows its "not found" state,
// and a session signed out in another tab sends this tab to the sign-in page instead of retrying the stream.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { shot } from "./screenshots";

const password = "correct horse battery staple";

async function signUp(browser: Browser, email: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  return page;
}

/** Calls the API with the page's session cookie and CSRF token (like the dashboard does). */
async function api(page: Page, method: string, path: string, data?: unknown): Promise<number> {
  const session = await page.request.get("/api/v1/session");
  const { csrfToken } = (await session.json()) as { csrfToken: string };
  const res = await page.request.fetch(`/api/v1${path}`, { method, data, headers: { "x-csrf-token": csrfToken } });
  return res.status();
}

test("a member removed from the team sees the open app page turn into 'not found' at once", async ({ browser }) => {
  const id = Date.now().toString(36);
  const team = `gone-${id}`;
  const app = `lost-${id}`;
  const friend = `removed-${id}@example.com`;
  const owner = await signUp(browser, `keeper-${id}@example.com`);
  expect(await api(owner, "POST", "/teams", { name: team })).toBe(201);
  expect(await api(owner, "POST", "/apps", { name: app, team })).toBe(201);
  const guest = await signUp(browser, friend);
  expect(await api(owner, "POST", `/teams/${team}/members`, { email: friend, role: "viewer" })).toBe(201);

  await guest.goto(`/apps/${app}/activity`);
  await expect(guest.getByRole("heading", { name: app, exact: true })).toBeVisible();
  await expect(guest.getByTestId("live-indicator")).toHaveAttribute("data-status", "open");

  expect(await api(owner, "DELETE", `/teams/${team}/members/${friend}`)).toBe(204);
  // The server ends the events subscription; the page refetches and shows what the API now says.
  await expect(guest.getByRole("heading", { name: `No app named "${app}"` })).toBeVisible({ timeout: 5_000 });
  await shot(guest, "40-stream-access-lost");
});

test("signing out in another tab ends this tab's stream and sends it to the sign-in page", async ({ browser }) => {
  const id = Date.now().toString(36);
  const app = `tabs-${id}`;
  const first = await signUp(browser, `tabs-${id}@example.com`);
  expect(await api(first, "POST", "/apps", { name: app })).toBe(201);
  await first.goto(`/apps/${app}/activity`);
  await expect(first.getByTestId("live-indicator")).toHaveAttribute("data-status", "open");

  // Same browser, another tab: same session cookie. Signing out there ends the session for both tabs.
  const second = await first.context().newPage();
  await second.goto("/apps");
  expect(await api(second, "POST", "/auth/logout")).toBe(204);
  await expect(first).toHaveURL(/\/login/, { timeout: 5_000 });
  await shot(first, "41-stream-signed-out");
});
