// Custom domains in an app's Settings: add one (shown with its CNAME target), a taken or invalid name is refused
// with the server's reason, remove it. Uses the API to set up the account and app, the UI for the rest.
import { expect, test } from "@playwright/test";
import { shot } from "./screenshots";

test("settings: add, refuse and remove custom domains", async ({ page }) => {
  const id = Date.now().toString(36);
  const app = `dom-${id}`;
  const signup = await page.request.post("/api/v1/auth/signup", {
    data: { email: `dom-${id}@example.com`, password: "correct horse battery staple" },
  });
  expect(signup.status()).toBe(201);
  const csrf = ((await signup.json()) as { csrfToken: string }).csrfToken;
  const created = await page.request.post("/api/v1/apps", { data: { name: app }, headers: { "x-csrf-token": csrf } });
  expect(created.status()).toBe(201);

  await page.goto(`/apps/${app}/settings`);
  const card = page.locator("section, div").filter({ has: page.getByRole("heading", { name: "Custom domains" }) }).last();
  await expect(page.getByText("No custom domains yet.")).toBeVisible();

  await page.getByLabel("Hostname").fill(`shop-${id}.example.com`);
  await page.getByRole("button", { name: "Add domain" }).click();
  const list = page.getByRole("list", { name: "Custom domains" });
  await expect(list.getByText(`shop-${id}.example.com`)).toBeVisible();
  await expect(list.getByText(/CNAME/)).toBeVisible();
  await expect(page.getByLabel("Hostname")).toHaveValue("");

  // A name under the platform's own domain is refused, with the server's reason, and nothing changes.
  await page.getByLabel("Hostname").fill(`x.${app}.localhost`);
  await page.getByRole("button", { name: "Add domain" }).click();
  // (Next.js keeps its own empty role="alert" route announcer on the page: match ours by its text.)
  await expect(page.getByRole("alert").filter({ hasText: "platform's own namespace" })).toBeVisible();
  await expect(list.getByRole("listitem")).toHaveCount(1);
  await page.setViewportSize({ width: 1280, height: 800 });
  await card.scrollIntoViewIfNeeded();
  await shot(page, "55-settings-domains");

  await page.getByRole("button", { name: `Remove shop-${id}.example.com` }).click();
  await expect(page.getByText("No custom domains yet.")).toBeVisible();
});
