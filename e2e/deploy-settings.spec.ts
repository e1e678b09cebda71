// Deploy settings in an app's Settings: the rollout batch and the web health check path, typed with the keyboard,
// checked next to the field before any request, saved, and still there after a reload.
import { expect, test } from "@playwright/test";
import { shot } from "./screenshots";

test("settings: change the rollout batch and the health check path", async ({ page }) => {
  const id = Date.now().toString(36);
  const app = `dep-${id}`;
  const signup = await page.request.post("/api/v1/auth/signup", {
    data: { email: `dep-${id}@example.com`, password: "correct horse battery staple" },
  });
  expect(signup.status()).toBe(201);
  const csrf = ((await signup.json()) as { csrfToken: string }).csrfToken;
  const created = await page.request.post("/api/v1/apps", { data: { name: app }, headers: { "x-csrf-token": csrf } });
  expect(created.status()).toBe(201);

  await page.goto(`/apps/${app}/settings`);
  await expect(page.getByRole("heading", { name: "Deploys" })).toBeVisible();
  const batch = page.getByLabel("Rollout batch");
  const health = page.getByLabel("Health check path");
  await expect(batch).toHaveValue("0");
  await expect(health).toHaveValue("");

  // A path without the leading slash is refused next to the field; nothing is sent.
  await health.fill("healthz");
  await health.press("Enter");
  await expect(page.getByText("The path starts with /, like /healthz.")).toBeVisible();
  expect(await (await page.request.get(`/api/v1/apps/${app}/deploy-settings`)).json()).toEqual({
    rolloutBatch: 0,
    healthCheckPath: null,
  });
  await health.fill("/healthz");
  await batch.fill("2");
  await batch.press("Enter");
  await expect(page.getByText("Deploy settings saved")).toBeVisible();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole("heading", { name: "Deploys" }).scrollIntoViewIfNeeded();
  await shot(page, "56-settings-deploys");

  const api = await page.request.get(`/api/v1/apps/${app}/deploy-settings`);
  expect(await api.json()).toEqual({ rolloutBatch: 2, healthCheckPath: "/healthz" });
  await page.reload();
  await expect(page.getByLabel("Rollout batch")).toHaveValue("2");
  await expect(page.getByLabel("Health check path")).toHaveValue("/healthz");
});
