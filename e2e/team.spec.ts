// Team collaboration through the dashboard: invite by link, accept as the invited user, change roles, and the
// destructive flows (delete an app by typing its name, revoke a token) with their confirmations.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { shot } from "./screenshots";

const password = "correct horse battery staple";

async function signUp(browser: Browser, email: string, next?: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(next ? `/signup?next=${encodeURIComponent(next)}` : "/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(next ? new RegExp(next) : /\/apps$/);
  return page;
}

test("invite a teammate, accept, change role, delete an app, revoke a token", async ({ browser }) => {
  const id = Date.now().toString(36);
  const team = `crew-${id}`;
  const app = `api-${id}`;
  const friend = `friend-${id}@example.com`;

  const owner = await signUp(browser, `owner-${id}@example.com`);
  await owner.goto("/teams/new");
  await owner.getByLabel("Team name").fill(team);
  await owner.getByRole("button", { name: "Create team" }).click();
  await expect(owner.getByTestId("current-team")).toHaveText(team);
  await owner.getByRole("button", { name: "Create app" }).first().click();
  await owner.getByRole("dialog").getByLabel("App name").fill(app);
  await owner.getByRole("dialog").getByRole("button", { name: "Create app" }).click();
  await expect(owner.getByRole("link", { name: app, exact: true })).toBeVisible();

  // Invite by email; the accept link is shown once.
  await owner.goto(`/teams/${team}/members`);
  await owner.getByRole("button", { name: "Invite member" }).click();
  const dialog = owner.getByRole("dialog");
  await dialog.getByLabel("Email").fill(friend);
  await dialog.getByLabel("Role").selectOption("admin");
  await dialog.getByRole("button", { name: "Invite" }).click();
  const link = (await dialog.getByTestId("invite-link").textContent()) ?? "";
  expect(link).toMatch(/\/invite\/\S+$/);
  const invitePath = new URL(link).pathname;
  await owner.keyboard.press("Escape");
  await expect(dialog).toBeHidden();

  // The invited person opens the link signed out, signs up, comes back and accepts.
  const guest = await (await browser.newContext()).newPage();
  await guest.goto(invitePath);
  await expect(guest.getByRole("heading", { name: `Join ${team}` })).toBeVisible();
  await expect(guest.getByText(friend, { exact: true })).toBeVisible();
  await shot(guest, "20-invite-signed-out");
  await guest.getByRole("link", { name: "Create an account" }).click();
  await expect(guest.getByLabel("Email")).toHaveValue(friend);
  await guest.getByLabel("Password").fill(password);
  await guest.getByRole("button", { name: "Create account" }).click();
  await expect(guest).toHaveURL(new RegExp(invitePath));
  await shot(guest, "21-invite-accept");
  await guest.getByRole("button", { name: `Accept and join ${team}` }).click();
  await expect(guest).toHaveURL(/\/apps$/);
  await expect(guest.getByTestId("current-team")).toHaveText(team);
  await expect(guest.getByRole("link", { name: app, exact: true })).toBeVisible();

  // The owner sees the new member and makes them a viewer.
  await owner.reload();
  const row = owner.getByRole("row", { name: new RegExp(friend) });
  await expect(row).toBeVisible();
  await row.getByLabel(`Role of ${friend}`).selectOption("viewer");
  await expect(owner.getByText(`${friend} is now viewer`)).toBeVisible();
  await shot(owner, "22-members-two");

  // As a viewer, the guest can look but not create or delete.
  await guest.reload();
  await expect(guest.getByRole("link", { name: app, exact: true })).toBeVisible();
  await expect(guest.getByRole("button", { name: "Create app" }).first()).toBeDisabled();
  await guest.goto(`/apps/${app}/settings`);
  await expect(guest.getByRole("switch", { name: "Maintenance mode" })).toBeDisabled();
  await expect(guest.getByRole("button", { name: `Delete ${app}…` })).toBeDisabled();

  // The owner deletes the app: the button stays disabled until the name is typed.
  await owner.goto(`/apps/${app}/settings`);
  await owner.getByRole("button", { name: `Delete ${app}…` }).click();
  const confirm = owner.getByRole("dialog", { name: `Delete ${app}?` });
  const del = confirm.getByRole("button", { name: "Delete app" });
  await expect(del).toBeDisabled();
  await confirm.getByLabel(/to confirm/).fill(app.slice(0, -1));
  await expect(del).toBeDisabled();
  await confirm.getByLabel(/to confirm/).fill(app);
  await shot(owner, "23-delete-app-dialog");
  await del.click();
  await expect(owner).toHaveURL(/\/apps$/);
  await expect(owner.getByText(`No apps in ${team} yet`)).toBeVisible();

  // The audit log has the story, filterable by app.
  await owner.goto(`/teams/${team}/audit`);
  await expect(owner.getByRole("cell", { name: "app.destroy" })).toBeVisible();
  await expect(owner.getByRole("cell", { name: "member.role" })).toBeVisible();

  // Tokens: create then revoke with confirmation.
  await owner.goto("/tokens");
  await owner.getByRole("button", { name: "Create token" }).first().click();
  await owner.getByRole("dialog").getByLabel("Name").fill("laptop");
  await owner.getByRole("dialog").getByRole("button", { name: "Create token" }).click();
  await owner.getByRole("button", { name: "I have copied it" }).click();
  await owner.getByRole("button", { name: "Revoke laptop" }).click();
  await owner.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
  await expect(owner.getByRole("row", { name: /laptop/ })).toContainText("Revoked");
});

test("unknown app and team pages explain themselves", async ({ browser }) => {
  const id = Date.now().toString(36);
  const page = await signUp(browser, `lost-${id}@example.com`);
  await page.goto("/apps/no-such-app");
  await expect(page.getByRole("heading", { name: 'No app named "no-such-app"' })).toBeVisible();
  await shot(page, "26-app-not-found");
  await page.getByRole("link", { name: "Back to apps" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  await page.goto("/teams/no-such-team/members");
  await expect(page.getByRole("heading", { name: 'No team named "no-such-team"' })).toBeVisible();
  await shot(page, "24-team-not-found");
  await page.goto("/invite/not-a-real-token");
  await expect(page.getByRole("heading", { name: "Invitation not available" })).toBeVisible();
  await shot(page, "25-invite-invalid");
});
