// The app tabs beyond the overview: releases (history, config diff, rollback dialog), config vars (several vars in
// one change, masked until revealed), activity, live instances (empty: the e2e server runs no agent), formation
// stepper with confirmation, the nodes page with a join command, and what a viewer may not touch.
// The e2e server has no registry access for image deploys, so the first release is written straight into the
// database, as a deploy would leave it; everything after that goes through the dashboard and the API.
import os from "node:os";
import path from "node:path";
import { PrismaLibSQL } from "@prisma/adapter-libsql";
import { PrismaClient } from "@prisma/client";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { shot } from "./screenshots";

const password = "correct horse battery staple";
const port = Number(process.env.BERTH_E2E_PORT || 3917);
const dbUrl = `file:${path.join(os.tmpdir(), `berth-e2e-${port}`, "berth.db")}`;

async function signUp(browser: Browser, email: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  return page;
}

/** Calls the API with the page's session cookie and CSRF token, like the dashboard does. */
async function apiCall(page: Page, method: "GET" | "POST" | "PATCH", url: string, data?: unknown) {
  const session = await page.request.get("/api/v1/session");
  const csrf = ((await session.json()) as { csrfToken: string }).csrfToken;
  const res = await page.request.fetch(`/api/v1${url}`, { method, data, headers: { "x-csrf-token": csrf } });
  return { status: res.status(), body: (await res.json().catch(() => null)) as unknown };
}

/** Writes v1 of an app (web + worker) the way a finished deploy leaves it. */
async function seedFirstRelease(app: string, email: string): Promise<void> {
  const db = new PrismaClient({ adapter: new PrismaLibSQL({ url: dbUrl }) });
  try {
    const row = await db.app.findUniqueOrThrow({ where: { name: app } });
    const user = await db.user.findUniqueOrThrow({ where: { email } });
    await db.release.create({
      data: {
        appId: row.id,
        version: 1,
        imageRef: `registry.local/${app}`,
        imageDigest: `sha256:${"3f2a9c1b7d".repeat(6)}abcd`,
        processTypes: JSON.stringify({ web: "node server.js", worker: "node worker.js" }),
        config: JSON.stringify({ COLOR: "blue" }),
        description: "Deploy 3f2a9c1 (main)",
        status: "deployed",
        createdById: user.id,
      },
    });
    for (const type of ["web", "worker"]) {
      await db.formation.upsert({
        where: { appId_type: { appId: row.id, type } },
        create: { appId: row.id, type, quantity: type === "web" ? 1 : 0 },
        update: {},
      });
    }
    await db.configVar.create({ data: { appId: row.id, key: "COLOR", value: "blue" } });
    await db.auditEvent.create({
      data: {
        teamId: row.teamId,
        appName: app,
        actorId: user.id,
        actorEmail: email,
        action: "release.create",
        target: "v1",
        data: JSON.stringify({ description: "Deploy 3f2a9c1 (main)" }),
      },
    });
  } finally {
    await db.$disconnect();
  }
}

test("releases, config, activity, instances, formation and nodes; a viewer can look but not change", async ({
  browser,
}) => {
  const id = Date.now().toString(36);
  const team = `tabs-${id}`;
  const app = `shop-${id}`;
  const ownerEmail = `tabs-owner-${id}@example.com`;
  const viewerEmail = `tabs-viewer-${id}@example.com`;
  const base = `/apps/${app}`;

  const owner = await signUp(browser, ownerEmail);
  expect((await apiCall(owner, "POST", "/teams", { name: team })).status).toBe(201);
  expect((await apiCall(owner, "POST", "/apps", { name: app, team })).status).toBe(201);

  await test.step("empty states before the first deploy", async () => {
    await owner.goto(`${base}/releases`);
    await expect(owner.getByRole("heading", { name: "No releases yet" })).toBeVisible();
    await shot(owner, "40-releases-empty");
    await owner.getByRole("link", { name: "Activity", exact: true }).click();
    await expect(owner.getByText("Created the app")).toBeVisible();
  });

  await seedFirstRelease(app, ownerEmail);

  await test.step("overview: instances (none without an agent) and the formation stepper with confirmation", async () => {
    await owner.goto(base);
    const instances = await apiCall(owner, "GET", `/apps/${app}/instances`);
    if (instances.status === 200 && Array.isArray(instances.body) && instances.body.length === 0) {
      await expect(owner.getByRole("heading", { name: "No instances running" })).toBeVisible();
    } else if (instances.status === 200) {
      // The scheduler may already list pending instances (no node can take them without an agent).
      await expect(owner.getByRole("table", { name: `Instances of ${app}` })).toBeVisible();
    } else {
      // The instances endpoint is not there yet on this server: the card says so instead of breaking the page.
      await expect(owner.getByRole("heading", { name: "Instances are not available yet" })).toBeVisible();
    }
    await expect(owner.getByTestId("live-indicator")).toHaveAttribute("data-status", "open");
    const worker = owner.getByRole("group", { name: "worker instances" });
    await worker.getByRole("button", { name: "More worker instances" }).click();
    await worker.getByRole("button", { name: "More worker instances" }).click();
    await expect(worker.getByRole("spinbutton")).toHaveValue("2");
    await expect(owner.getByText("1 unsaved change")).toBeVisible();
    await shot(owner, "41-overview-formation-draft");
    await owner.getByRole("button", { name: "Apply…" }).click();
    const dialog = owner.getByRole("dialog", { name: "Apply the new formation?" });
    await expect(dialog).toContainText("0 → 2");
    await dialog.getByRole("button", { name: "Apply" }).click();
    await expect(dialog).toBeHidden();
    await expect(owner.getByRole("status").filter({ hasText: "Formation updated" })).toBeVisible();
    await expect(owner.getByText("3 instances", { exact: true })).toBeVisible();
  });

  await test.step("config: two vars saved in one change, masked until revealed", async () => {
    await owner.getByRole("link", { name: "Config", exact: true }).click();
    await expect(owner.getByTestId("config-row-COLOR")).toContainText("blue");
    await owner.getByRole("button", { name: "Add variable" }).click();
    await expect(owner.getByLabel("Name of new variable 1")).toBeFocused();
    await owner.getByLabel("Name of new variable 1").fill("API_TOKEN");
    await owner.getByLabel("Value of new variable 1").fill("tok-e2e-secret");
    await owner.getByRole("button", { name: "Add variable" }).click();
    await owner.getByLabel("Name of new variable 2").fill("DATABASE_URL");
    await owner.getByLabel("Value of new variable 2").fill("postgres://shop:pw@db/shop");
    await expect(owner.getByText("2 unsaved changes")).toBeVisible();
    await shot(owner, "42-config-editing");
    const saved = owner.waitForResponse(
      (r) => r.url().endsWith(`/apps/${app}/config`) && r.request().method() === "PATCH",
    );
    await owner.getByRole("button", { name: "Save changes" }).click();
    const body = (await (await saved).json()) as { release: number | null };
    expect(body.release).toBe(2);
    await expect(owner.getByRole("status").filter({ hasText: "Config saved (2 set)" })).toBeVisible();
    for (const key of ["API_TOKEN", "DATABASE_URL"]) {
      await expect(owner.getByTestId(`value-${key}`)).toHaveText("•••••••• (masked)");
    }
    await expect(owner.getByText("tok-e2e-secret")).toHaveCount(0);
    await owner.getByRole("button", { name: "Reveal value of API_TOKEN" }).click();
    await expect(owner.getByTestId("value-API_TOKEN")).toHaveText("tok-e2e-secret");
    await owner.getByRole("button", { name: "Hide value of API_TOKEN" }).click();
    // A second change: edit one value and remove another, again in one release.
    await owner.getByRole("button", { name: "Edit COLOR" }).click();
    await owner.getByLabel("Value of COLOR").fill("green");
    await owner.getByRole("button", { name: "Remove DATABASE_URL" }).click();
    await owner.getByRole("button", { name: "Save changes" }).click();
    await expect(owner.getByRole("status").filter({ hasText: "Config saved (1 set, 1 removed)" })).toBeVisible();
    await expect(owner.getByTestId("config-row-DATABASE_URL")).toHaveCount(0);
    await shot(owner, "43-config-saved");
  });

  await test.step("limits: disk and bandwidth per process type, checked before saving", async () => {
    await owner.getByRole("link", { name: "Config", exact: true }).click();
    const disk = owner.getByLabel("Disk of web in MB");
    const bandwidth = owner.getByLabel("Bandwidth of web in Mbit/s");
    await expect(disk).toHaveValue("1024");
    await expect(bandwidth).toHaveValue("100");
    await disk.fill("10");
    await expect(owner.getByText("Whole MB from 64 to 1048576.")).toBeVisible();
    await expect(owner.getByRole("button", { name: "Save limits" })).toBeDisabled();
    await disk.fill("2048");
    await bandwidth.fill("50");
    await expect(owner.getByText("1 process type changed")).toBeVisible();
    await shot(owner, "51-limits-disk-bandwidth");
    await owner.getByRole("button", { name: "Save limits" }).click();
    await expect(owner.getByRole("status").filter({ hasText: "Limits saved" })).toBeVisible();
    const formation = (await apiCall(owner, "GET", `/apps/${app}/formation`)).body as { type: string }[];
    expect(formation.find((f) => f.type === "web")).toMatchObject({ diskMb: 2048, bandwidthMbit: 50, memoryMb: 512 });
  });

  await test.step("limits: memory and CPU requests beside the limits, at most the limit", async () => {
    const memReq = owner.getByLabel("Memory request of web in MB");
    const cpuReq = owner.getByLabel("CPU request of web in cores");
    // The defaults: memory request = the limit, CPU request 0.1.
    await expect(memReq).toHaveValue("512");
    await expect(cpuReq).toHaveValue("0.1");
    await memReq.fill("1024");
    await expect(owner.getByText("Whole MB from 32 to the memory limit.")).toBeVisible();
    await expect(owner.getByRole("button", { name: "Save limits" })).toBeDisabled();
    await memReq.fill("256");
    await cpuReq.fill("0.25");
    await shot(owner, "52-limits-requests");
    await owner.getByRole("button", { name: "Save limits" }).click();
    await expect(owner.getByRole("status").filter({ hasText: "Limits saved" })).toBeVisible();
    const formation = (await apiCall(owner, "GET", `/apps/${app}/formation`)).body as { type: string }[];
    expect(formation.find((f) => f.type === "web")).toMatchObject({
      memoryMb: 512,
      memoryRequestMb: 256,
      cpu: 1,
      cpuRequest: 0.25,
    });
  });

  await test.step("releases: history, config diff, rollback confirmation", async () => {
    await owner.getByRole("link", { name: "Releases", exact: true }).click();
    const list = owner.getByRole("list", { name: `Releases of ${app}` });
    await expect(list.getByRole("listitem")).toHaveCount(3);
    await list.getByRole("button", { name: /^v2/ }).click();
    const diff = owner.locator("#release-2-diff");
    await expect(diff).toContainText("API_TOKEN");
    await expect(diff).toContainText("DATABASE_URL");
    await expect(diff).not.toContainText("tok-e2e-secret");
    await list.getByRole("button", { name: /^v3/ }).click();
    await expect(owner.locator("#release-3-diff")).toContainText("blue");
    await expect(owner.locator("#release-3-diff")).toContainText("green");
    await shot(owner, "44-releases");
    await owner.getByRole("button", { name: "Roll back to v1" }).click();
    const dialog = owner.getByRole("dialog", { name: "Roll back to v1?" });
    await expect(dialog).toContainText("This creates v4");
    await shot(owner, "45-rollback-dialog");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
  });

  await test.step("activity: the config change, scaling and releases, without values", async () => {
    await owner.getByRole("link", { name: "Activity", exact: true }).click();
    await expect(owner.getByText("Config vars: set API_TOKEN and DATABASE_URL")).toBeVisible();
    await expect(owner.getByText("Config vars: set COLOR; removed DATABASE_URL")).toBeVisible();
    await expect(owner.getByText("Scaled worker 0 → 2")).toBeVisible();
    await expect(owner.getByText("Released v2: Config: set API_TOKEN, set DATABASE_URL")).toBeVisible();
    await expect(owner.getByText("tok-e2e-secret")).toHaveCount(0);
    await shot(owner, "46-activity");
  });

  await test.step("nodes: none without an agent; an admin gets a join command", async () => {
    await owner.getByRole("link", { name: "Nodes", exact: true }).click();
    await expect(owner).toHaveURL(/\/nodes$/);
    await expect(owner.getByRole("heading", { name: "No nodes you can see" })).toBeVisible();
    await owner.getByLabel("The node belongs to").selectOption(team);
    await owner.getByRole("button", { name: "Create join command" }).click();
    await expect(owner.getByTestId("join-command")).toContainText("BERTH_JOIN_TOKEN='bn_");
    await expect(owner.getByTestId("join-command")).toContainText("runtime-agent/main.ts");
    await expect(owner.getByRole("button", { name: "Copy join command" })).toBeVisible();
    await shot(owner, "47-nodes");
  });

  await test.step("a viewer sees everything but every control is disabled", async () => {
    const viewer = await signUp(browser, viewerEmail);
    expect(
      (await apiCall(owner, "POST", `/teams/${team}/members`, { email: viewerEmail, role: "viewer" })).status,
    ).toBe(201);
    await viewer.goto(`${base}/config`);
    await expect(viewer.getByRole("button", { name: "Add variable" })).toBeDisabled();
    await expect(viewer.getByRole("button", { name: "Edit COLOR" })).toBeDisabled();
    await expect(viewer.getByRole("button", { name: "Remove API_TOKEN" })).toBeDisabled();
    await expect(viewer.getByTestId("config-row-API_TOKEN")).toContainText("hidden for your role");
    await expect(viewer.getByRole("button", { name: "Reveal value of API_TOKEN" })).toHaveCount(0);
    await expect(viewer.getByLabel("Memory of web in MB")).toBeDisabled();
    await shot(viewer, "48-config-viewer");
    await viewer.getByRole("link", { name: "Releases", exact: true }).click();
    await expect(viewer.getByRole("button", { name: "Roll back to v1" })).toBeDisabled();
    await viewer.getByRole("link", { name: "Overview", exact: true }).click();
    await expect(viewer.getByRole("button", { name: "More web instances" })).toBeDisabled();
    await expect(viewer.getByText("Viewers can see the formation but not scale it.")).toBeVisible();
    await viewer.getByRole("link", { name: "Activity", exact: true }).click();
    await expect(viewer.getByText("Config vars: set API_TOKEN and DATABASE_URL")).toBeVisible();
  });

  await test.step("phone width", async () => {
    await owner.setViewportSize({ width: 390, height: 844 });
    await owner.goto(`${base}/config`);
    await expect(owner.getByTestId("config-row-API_TOKEN")).toBeVisible();
    await shot(owner, "49-config-phone");
    await owner.goto(`${base}/releases`);
    await expect(owner.getByRole("list", { name: `Releases of ${app}` })).toBeVisible();
    await shot(owner, "50-releases-phone");
  });
});
