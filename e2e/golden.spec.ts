// The golden path a new user walks: sign up, create a team and an app, see it listed, open it, sign out.
// Along the way every main page is screenshotted to e2e-results/screenshots/ for a human (or agent) to look at.
import { expect, test } from "@playwright/test";
import { shot } from "./screenshots";

test("sign up, create a team and an app, open it, sign out", async ({ page, baseURL }) => {
  const id = Date.now().toString(36);
  const email = `e2e-${id}@example.com`;
  const password = "correct horse battery staple";
  const team = `team-${id}`;
  const app = `web-${id}`;

  await test.step("signed-out visitors are sent to /login", async () => {
    await page.goto("/apps");
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole("heading", { name: "Sign in to Berth" })).toBeVisible();
    await shot(page, "01-login");
  });

  await test.step("sign up", async () => {
    await page.getByRole("link", { name: "Create an account" }).click();
    await expect(page).toHaveURL(/\/signup$/);
    await expect(page.getByText("becomes its instance admin")).toBeVisible();
    // Client-side validation before anything is sent.
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByText("Enter an email address.")).toBeVisible();
    await shot(page, "02-signup");
    await page.getByLabel("Name").fill("Ada Lovelace");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/apps$/);
    await expect(page.getByRole("heading", { level: 1, name: "Apps" })).toBeVisible();
    await expect(page.getByText(/No apps in .+ yet/)).toBeVisible();
    await shot(page, "03-apps-empty");
  });

  await test.step("create a team from the team switcher", async () => {
    await page.getByRole("button", { name: /Switch team/ }).click();
    await expect(page.getByRole("menu")).toBeVisible();
    await page.getByRole("menuitem", { name: "Create team" }).click();
    await expect(page).toHaveURL(/\/teams\/new$/);
    const name = page.getByLabel("Team name");
    await name.fill("Bad Name");
    await expect(page.getByText("Use only lowercase letters, digits and dashes.")).toBeVisible();
    await name.fill(team);
    await shot(page, "04-team-new");
    await page.getByRole("button", { name: "Create team" }).click();
    await expect(page).toHaveURL(/\/apps$/);
    await expect(page.getByTestId("current-team")).toHaveText(team);
    await expect(page.getByText(`No apps in ${team} yet`)).toBeVisible();
  });

  await test.step("create an app and see it listed", async () => {
    await page.getByRole("button", { name: "Create app" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Create an app" });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByLabel("App name")).toBeFocused();
    await dialog.getByLabel("App name").fill("9lives");
    await expect(dialog.getByText("Start with a lowercase letter.")).toBeVisible();
    await dialog.getByLabel("App name").fill("admin");
    await expect(dialog.getByText(/is reserved/)).toBeVisible();
    await dialog.getByLabel("App name").fill(app);
    await expect(dialog.getByLabel("Team")).toHaveValue(team);
    await shot(page, "05-create-app-dialog");
    await dialog.getByRole("button", { name: "Create app" }).click();
    await expect(dialog).toBeHidden();
    const row = page.getByRole("row", { name: new RegExp(app) });
    await expect(row).toBeVisible();
    await expect(row.getByText("Not deployed")).toBeVisible();
    await shot(page, "06-apps");

    // The server's own error is shown too: the same name again is taken.
    await page.getByRole("button", { name: "Create app" }).first().click();
    await dialog.getByLabel("App name").fill(app);
    await dialog.getByRole("button", { name: "Create app" }).click();
    await expect(dialog.getByRole("alert")).toContainText(/taken|exists/i);
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
  });

  await test.step("open the app page", async () => {
    await page.getByRole("link", { name: app, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/apps/${app}$`));
    await expect(page.getByRole("heading", { level: 1, name: app })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Formation" })).toBeVisible();
    // A new app starts with the default formation (one web process) until its first deploy says otherwise.
    await expect(page.getByRole("table", { name: "Formation" }).getByRole("row").nth(1)).toContainText("web");
    await shot(page, "07-app-overview");

    await page.getByRole("link", { name: "Deploy", exact: true }).click();
    await expect(page.getByTestId("git-remote-command")).toHaveText(`git remote add berth ${baseURL}/git/${app}.git`);
    await shot(page, "08-app-deploy");

    await page.getByRole("link", { name: "Logs", exact: true }).click();
    await expect(page.getByRole("heading", { name: "No log lines yet" })).toBeVisible();
    await shot(page, "09-app-logs-empty");

    await page.getByRole("link", { name: "Settings", exact: true }).click();
    const maintenance = page.getByRole("switch", { name: "Maintenance mode" });
    await expect(maintenance).toHaveAttribute("aria-checked", "false");
    await maintenance.click();
    await expect(maintenance).toHaveAttribute("aria-checked", "true");
    await shot(page, "10-app-settings");
    await maintenance.click();
    await expect(maintenance).toHaveAttribute("aria-checked", "false");
  });

  await test.step("members, invitation link and audit log", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" }).click();
    await expect(page).toHaveURL(new RegExp(`/teams/${team}/members$`));
    await expect(page.getByRole("row", { name: new RegExp(email) })).toBeVisible();
    await page.getByRole("button", { name: "Invite member" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Email").fill(`friend-${id}@example.com`);
    await dialog.getByRole("button", { name: "Invite" }).click();
    await expect(dialog.getByTestId("invite-link")).toContainText("/invite/");
    await shot(page, "11-members-invite-link");
    await dialog.getByRole("button", { name: "Done" }).click();
    await expect(page.getByRole("row", { name: new RegExp(`friend-${id}@example.com`) })).toBeVisible();
    await shot(page, "12-members");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
    await expect(page.getByRole("cell", { name: "app.create" })).toBeVisible();
    await page.getByLabel("Action").selectOption("invitation.");
    await expect(page.getByRole("cell", { name: "invitation.create" })).toBeVisible();
    await expect(page.getByRole("cell", { name: "app.create" })).toBeHidden();
    await page.getByLabel("Action").selectOption("");
    await shot(page, "13-audit");
  });

  await test.step("API tokens", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API tokens" }).click();
    await expect(page.getByText("No API tokens yet")).toBeVisible();
    await page.getByRole("button", { name: "Create token" }).first().click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("ci deploys");
    await dialog.getByRole("button", { name: "Create token" }).click();
    await expect(dialog.getByTestId("token-secret")).not.toBeEmpty();
    await shot(page, "14-token-secret");
    await dialog.getByRole("button", { name: "I have copied it" }).click();
    await expect(page.getByRole("row", { name: /ci deploys/ })).toContainText("Active");
    await shot(page, "15-tokens");
  });

  await test.step("phone width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto("/apps");
    await expect(page.getByRole("row", { name: new RegExp(app) })).toBeVisible();
    await shot(page, "16-apps-phone");
    await page.goto(`/apps/${app}`);
    await expect(page.getByRole("heading", { level: 1, name: app })).toBeVisible();
    await shot(page, "17-app-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await test.step("sign out", async () => {
    await page.getByRole("button", { name: /Account menu/ }).click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto("/apps");
    await expect(page).toHaveURL(/\/login$/);
  });
});
