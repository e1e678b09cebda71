// Custom domains in an app's Settings: add one (pending, shown with the TXT record that proves control and its CNAME
// target), verify it against a real DNS server on loopback (refused while the record is missing, routed once it is
// published), a taken or invalid name is refused with the server's reason, remove it. Uses the API to set up the
// account and app, the UI for the rest.
import { expect, test } from "@playwright/test";
import { TestDns } from "../test/helpers/dns";
import { shot } from "./screenshots";

// The platform was started with BERTH_DNS_RESOLVER=127.0.0.1:<this> (playwright.config.ts).
const DNS_PORT = Number(process.env.BERTH_E2E_DNS_PORT || Number(process.env.BERTH_E2E_PORT || 3917) + 1);

test("settings: add, verify, refuse and remove custom domains", async ({ page }) => {
  const dns = await TestDns.startOn(DNS_PORT);
  try {
    const id = Date.now().toString(36);
    const app = `dom-${id}`;
    const host = `shop-${id}.example.com`;
    const signup = await page.request.post("/api/v1/auth/signup", {
      data: { email: `dom-${id}@example.com`, password: "correct horse battery staple" },
    });
    expect(signup.status()).toBe(201);
    const csrf = ((await signup.json()) as { csrfToken: string }).csrfToken;
    const created = await page.request.post("/api/v1/apps", { data: { name: app }, headers: { "x-csrf-token": csrf } });
    expect(created.status()).toBe(201);

    await page.goto(`/apps/${app}/settings`);
    const card = page
      .locator("section, div")
      .filter({ has: page.getByRole("heading", { name: "Custom domains" }) })
      .last();
    await expect(page.getByText("No custom domains yet.")).toBeVisible();

    await page.getByLabel("Hostname").fill(host);
    await page.getByRole("button", { name: "Add domain" }).click();
    const list = page.getByRole("list", { name: "Custom domains" });
    await expect(list.getByText(host, { exact: true }).first()).toBeVisible();
    await expect(list.getByText(/CNAME/)).toBeVisible();
    await expect(page.getByLabel("Hostname")).toHaveValue("");
    // Pending: the record to publish, and no link (it is not routed).
    await expect(list.getByText("Pending verification")).toBeVisible();
    await expect(list.getByText(`_berth-challenge.${host}`)).toBeVisible();
    const token = (await list.getByText(/^berth-verify-[0-9a-f]{32}$/).textContent()) ?? "";
    expect(token).toMatch(/^berth-verify-/);
    await expect(list.getByRole("link", { name: host })).toHaveCount(0);

    // Verifying before the record exists is refused with the server's reason.
    await page.getByRole("button", { name: `Verify ${host}` }).click();
    await expect(page.getByRole("alert").filter({ hasText: "no TXT record found" })).toBeVisible();

    // A name under the platform's own domain is refused, with the server's reason, and nothing changes.
    await page.getByLabel("Hostname").fill(`x.${app}.localhost`);
    await page.getByRole("button", { name: "Add domain" }).click();
    // (Next.js keeps its own empty role="alert" route announcer on the page: match ours by its text.)
    await expect(page.getByRole("alert").filter({ hasText: "platform's own namespace" })).toBeVisible();
    await expect(list.getByRole("listitem")).toHaveCount(1);
    await page.setViewportSize({ width: 1280, height: 800 });
    await card.scrollIntoViewIfNeeded();
    await shot(page, "55-settings-domains");

    // The owner publishes the record; Verify routes the domain.
    await dns.setTxt({ [`_berth-challenge.${host}`]: [token] });
    await page.getByRole("button", { name: `Verify ${host}` }).click();
    await expect(list.getByText("Pending verification")).toHaveCount(0);
    await expect(list.getByRole("link", { name: host })).toBeVisible();
    await expect(list.getByText(/HTTP only|HTTPS/)).toBeVisible();
    await card.scrollIntoViewIfNeeded();
    await shot(page, "56-settings-domains-verified");

    await page.getByRole("button", { name: `Remove ${host}` }).click();
    await expect(page.getByText("No custom domains yet.")).toBeVisible();
  } finally {
    await dns.stop();
  }
});
