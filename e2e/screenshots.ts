// Full-page screenshots of the dashboard for people (and agents) to look at: e2e-results/screenshots/NAME.png.
import fs from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";

const dir = path.join(process.cwd(), "e2e-results", "screenshots");

/** Saves a full-page screenshot once fonts have loaded, with notifications hidden. */
export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(150);
  await page.screenshot({
    path: path.join(dir, `${name}.png`),
    fullPage: true,
    style: "[data-toaster] { display: none !important; }",
  });
}
