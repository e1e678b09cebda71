// Keyboard use: menus open and close from the keyboard, dialogs keep focus inside and give it back on Esc.
import { expect, test } from "@playwright/test";

test("team switcher and dialogs work from the keyboard", async ({ page }) => {
  const id = Date.now().toString(36);
  await page.goto("/signup");
  await page.getByLabel("Email").fill(`keys-${id}@example.com`);
  await page.getByLabel("Password").fill("correct horse battery staple");
  await page.getByLabel("Password").press("Enter");
  await expect(page).toHaveURL(/\/apps$/);

  // Menu button: Enter opens and focuses the first item, Escape closes and returns focus.
  const switcher = page.getByRole("button", { name: /Switch team/ });
  await switcher.focus();
  await page.keyboard.press("Enter");
  const menu = page.getByRole("menu");
  await expect(menu).toBeVisible();
  await expect(menu.getByRole("menuitemradio").first()).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("menuitem", { name: "Create team" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(menu).toBeHidden();
  await expect(switcher).toBeFocused();

  // Dialog: focus starts in the first field, Tab never leaves the dialog, Escape closes and restores focus.
  const create = page.getByRole("button", { name: "Create app" }).first();
  await create.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Create an app" });
  await expect(dialog.getByLabel("App name")).toBeFocused();
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press("Tab");
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  }
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("Shift+Tab");
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(create).toBeFocused();

  // Submitting the dialog with Enter shows the client-side validation message instead of a request.
  await page.keyboard.press("Enter");
  await dialog.getByLabel("App name").fill("x");
  await page.keyboard.press("Enter");
  await expect(dialog.getByText("Use at least 2 characters.")).toBeVisible();
  await expect(dialog.getByLabel("App name")).toHaveAttribute("aria-invalid", "true");
});
