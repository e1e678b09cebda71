// The nodes page with a node on it: a team owner creates a join command in the dashboard, a protocol-level agent joins
// with its token from this machine's loopback (so the control plane lists it as unroutable, with the reason), and the
// owner removes the node with the keyboard through the confirmation dialog; the agent's socket is closed at once.
import { expect, test } from "@playwright/test";
import { connectRawAgent, registerParams } from "../test/helpers/raw-agent.ts";
import { shot } from "./screenshots";

const password = "correct horse battery staple";

test("a team's node: shown unroutable with the reason, removed after typing its name", async ({ page, baseURL }) => {
  const id = Date.now().toString(36);
  const team = `fleet-${id}`;
  const nodeName = `edge-${id}`;

  await page.goto("/signup");
  await page.getByLabel("Email").fill(`fleet-owner-${id}@example.com`);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  await page.goto("/teams/new");
  await page.getByLabel("Team name").fill(team);
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.getByTestId("current-team")).toHaveText(team);

  await page.goto("/nodes");
  await expect(page.getByRole("heading", { name: "No nodes you can see" })).toBeVisible();
  await page.getByLabel("The node belongs to").selectOption(team);
  await page.getByRole("button", { name: "Create join command" }).click();
  const command = (await page.getByTestId("join-command").textContent()) ?? "";
  const token = /BERTH_JOIN_TOKEN='(bn_[A-Za-z0-9_-]+)'/.exec(command)?.[1] ?? "";
  expect(token).not.toBe("");

  // The node claims 10.9.9.9; the control plane sees its connection come from 127.0.0.1 and will not route there.
  const agent = await connectRawAgent(baseURL ?? "", token, registerParams(nodeName, "10.9.9.9"));
  try {
    await page.reload();
    const row = page.getByRole("row").filter({ hasText: nodeName });
    await expect(row.getByText(`Team ${team}`)).toBeVisible();
    await expect(row.getByText("Unroutable")).toBeVisible();
    await expect(page.getByText("0 of 1 ready")).toBeVisible();
    await expect(row.getByText("Not routed: 127.0.0.1 is a loopback address")).toBeVisible();
    await shot(page, "48-nodes-unroutable");

    // Keyboard only: expand the row, open the dialog, type the name, confirm.
    await page.getByRole("button", { name: new RegExp(nodeName) }).focus();
    await page.keyboard.press("Enter");
    const remove = page.getByRole("button", { name: "Remove…" });
    await expect(remove).toBeVisible();
    await remove.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: `Remove ${nodeName}?` });
    await expect(dialog).toBeVisible();
    const confirm = dialog.getByRole("button", { name: "Remove node" });
    await expect(confirm).toBeDisabled();
    await page.keyboard.type("not-the-name");
    await expect(confirm).toBeDisabled();
    await dialog.getByLabel(/to confirm/).fill("");
    await page.keyboard.type(nodeName);
    await expect(confirm).toBeEnabled();
    await shot(page, "49-nodes-remove-dialog");
    await page.keyboard.press("Enter");

    await expect(dialog).toBeHidden();
    await expect(page.getByText(`Removed ${nodeName}`)).toBeVisible();
    await expect(page.getByRole("heading", { name: "No nodes you can see" })).toBeVisible();
    expect(await agent.closed).toBeGreaterThan(0);
  } finally {
    agent.close();
  }
});
