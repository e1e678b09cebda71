// The Logs and Metrics tabs. The e2e server runs no agent, so the real endpoints answer empty: the first test checks
// the empty states and keyboard access against them. The others replace the REST history with page.route (the live
// stream stays real and quiet) to check rendering of 100,000 lines, filters, search, pause/resume, escaping, and
// the charts and instance usage drawn from stats.
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

async function apiCall(page: Page, method: "GET" | "POST", url: string, data?: unknown) {
  const session = await page.request.get("/api/v1/session");
  const csrf = ((await session.json()) as { csrfToken: string }).csrfToken;
  const res = await page.request.fetch(`/api/v1${url}`, { method, data, headers: { "x-csrf-token": csrf } });
  return { status: res.status(), body: (await res.json().catch(() => null)) as unknown };
}

async function setUp(browser: Browser, tag: string): Promise<{ page: Page; app: string }> {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
  const page = await signUp(browser, `lm-${tag}-${id}@example.com`);
  const team = `lmt-${tag}-${id}`;
  const app = `lm-${tag}-${id}`;
  expect((await apiCall(page, "POST", "/teams", { name: team })).status).toBe(201);
  expect((await apiCall(page, "POST", "/apps", { name: app, team })).status).toBe(201);
  return { page, app };
}

const T0 = Date.now() - 60 * 60 * 1000;

/** 100,000 lines: a web and a worker instance, some stderr, router lines, colours and markup that must stay text. */
function bigLog() {
  const entries = [];
  for (let seq = 1; seq <= 100_000; seq++) {
    const worker = seq % 10 === 3;
    const router = seq % 10 === 7;
    let text = `request ${seq} handled in ${seq % 97} ms`;
    if (seq % 1000 === 500) text = `\u001b[31mERROR\u001b[0m payment ${seq} failed`;
    if (seq === 99_990) text = `<script>window.__pwned = true</script><b>bold?</b> needle-${seq}`;
    if (seq === 99_995) text = "\u001b]0;evil title\u0007clean \u001b[2Kafter";
    entries.push({
      seq,
      at: new Date(T0 + seq * 30).toISOString(),
      stream: seq % 1000 === 500 ? "stderr" : "stdout",
      source: router ? "router" : "app",
      ...(router ? {} : { processType: worker ? "worker" : "web", instance: worker ? "wk0000000001" : "web000000001" }),
      text: router ? `GET /items/${seq} 200 ${seq % 50}ms` : text,
    });
  }
  return { entries, lastSeq: 100_000 };
}

test("logs and metrics: empty states without an agent, keyboard access", async ({ browser }) => {
  const { page, app } = await setUp(browser, "empty");
  await page.goto(`/apps/${app}/logs`);
  await expect(page.getByRole("heading", { name: "No log lines yet" })).toBeVisible();
  await expect(page.getByTestId("log-count")).toHaveText("0 lines loaded");
  // Filters are reachable from the keyboard; "/" jumps to the search field.
  await page.getByRole("heading", { name: "Logs", exact: true }).click();
  await page.keyboard.press("/");
  await expect(page.getByLabel("Search loaded lines")).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(page.getByLabel("Source")).toBeFocused();
  await shot(page, "60-logs-empty");

  await page.getByRole("link", { name: "Metrics", exact: true }).click();
  await expect(page.getByRole("heading", { name: "No running instances" })).toBeVisible();
  await expect(page.getByRole("group", { name: "Group lines" })).toBeVisible();
  await page.getByRole("button", { name: "Per instance" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "Per instance" })).toHaveAttribute("aria-pressed", "true");
  await shot(page, "61-metrics-empty");
});

test("logs: 100,000 lines, filters, search, pause and resume, escaped text", async ({ browser }) => {
  const { page, app } = await setUp(browser, "logs");
  const log = bigLog();
  const body = JSON.stringify(log);
  const older: string[] = [];
  await page.route(`**/api/v1/apps/${app}/logs?**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.searchParams.has("after")) {
      older.push(url.search);
      return route.fulfill({ json: { entries: [], lastSeq: 100_000 } });
    }
    return route.fulfill({ contentType: "application/json", body });
  });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(`/apps/${app}/logs`);
  // Reading 100,000 lines from the store takes seconds on a loaded CI machine: wait for the content, not a deadline.
  await expect(page.getByTestId("log-count")).toHaveText(
    "100,000 lines loaded (the most kept; older ones are dropped)",
    { timeout: 60_000 },
  );
  const box = page.getByRole("log", { name: `Log of ${app}` });
  await expect(box).toHaveAttribute("aria-live", "polite");
  // Following the end: the newest line is on screen, and only a window of rows is in the DOM.
  await expect(box.locator("[data-seq='100000']")).toBeVisible();
  expect(await box.locator("[data-seq]").count()).toBeLessThan(200);

  // Markup and control sequences are text: nothing ran, no element was created from it.
  const markup = box.locator("[data-seq='99990']");
  await expect(markup).toContainText("<script>window.__pwned = true</script><b>bold?</b> needle-99990");
  expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();
  expect(await markup.locator("script, b").count()).toBe(0);
  await expect(box.locator("[data-seq='99995']")).toContainText("clean after");
  await expect(box.locator("[data-seq='99995']")).not.toContainText("evil title");
  await shot(page, "62-logs-100k");

  await test.step("scroll to the top quickly, then back to the end", async () => {
    await box.focus();
    await page.keyboard.press("Home");
    await expect(page.getByTestId("log-follow")).toHaveText("Paused");
    await expect(box.locator("[data-seq='1']")).toBeVisible();
    await page.getByRole("button", { name: "Jump to latest" }).click();
    await expect(box.locator("[data-seq='100000']")).toBeVisible();
    await expect(page.getByTestId("log-follow")).toHaveText("Following new lines");
  });

  await test.step("filters and search", async () => {
    await page.getByLabel("Process type").selectOption("worker");
    await expect(page.getByTestId("log-count")).toHaveText("10,000 matching lines of 100,000 loaded");
    await page.getByLabel("Process type").selectOption("");
    await page.getByLabel("Stream").selectOption("stderr");
    await expect(page.getByTestId("log-count")).toHaveText("100 matching lines of 100,000 loaded");
    await expect(box.locator("[data-seq='99500']")).toContainText("ERROR payment 99500 failed");
    await page.getByLabel("Stream").selectOption("");
    await page.getByLabel("Source").selectOption("router");
    await expect(page.getByTestId("log-count")).toHaveText("10,000 matching lines of 100,000 loaded");
    await page.getByLabel("Source").selectOption("");
    await page.getByLabel("Search loaded lines").fill("NEEDLE-99990");
    await expect(page.getByTestId("log-count")).toHaveText("1 matching line of 100,000 loaded");
    await expect(box.locator("mark")).toHaveText("needle-99990");
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "63-logs-search");
    await page.getByLabel("Search loaded lines").fill("no such text anywhere");
    await expect(page.getByText("No loaded line matches.")).toBeVisible();
    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect(page.getByTestId("log-count")).toHaveText(/^100,000 lines loaded/);
  });

  await test.step("pause and resume", async () => {
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await expect(page.getByTestId("log-follow")).toHaveText("Paused");
    await expect(box).toHaveAttribute("aria-live", "off");
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await expect(page.getByTestId("log-follow")).toHaveText("Following new lines");
    await expect(box.locator("[data-seq='100000']")).toBeVisible();
  });

  await test.step("phone width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await expect(box.locator("[data-seq='100000']")).toBeVisible();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "64-logs-phone");
  });
  expect(errors).toEqual([]);
});

test("logs: load older lines from the store", async ({ browser }) => {
  const { page, app } = await setUp(browser, "older");
  const line = (seq: number) => ({
    seq,
    at: new Date(T0 + seq * 1000).toISOString(),
    stream: "stdout",
    source: "app",
    processType: "web",
    instance: "web000000001",
    text: `line ${seq}`,
  });
  const calls: string[] = [];
  await page.route(`**/api/v1/apps/${app}/logs?**`, async (route) => {
    const q = new URL(route.request().url()).searchParams;
    calls.push(q.toString());
    const lines = Number(q.get("lines"));
    const after = q.get("after");
    // The store holds seq 1..7000: newest `lines`, or the oldest `lines` after `after`.
    const all = Array.from({ length: 7000 }, (_, i) => line(i + 1));
    const entries = after === null ? all.slice(-lines) : all.filter((e) => e.seq > Number(after)).slice(0, lines);
    return route.fulfill({ json: { entries, lastSeq: 7000 } });
  });
  await page.goto(`/apps/${app}/logs`);
  await expect(page.getByTestId("log-count")).toHaveText("2,000 lines loaded");
  const box = page.getByRole("log");
  await box.focus();
  await page.keyboard.press("Home");
  await page.getByRole("button", { name: "Load older lines" }).click();
  await expect(page.getByTestId("log-count")).toHaveText("7,000 lines loaded");
  expect(calls).toContain("after=0&lines=5000");
  // The line that was at the top stays in view; the start of the store is reached.
  await expect(box.locator("[data-seq='5001']")).toBeVisible();
  await page.keyboard.press("Home");
  await expect(page.getByText("Start of the stored log")).toBeVisible();
  await expect(box.locator("[data-seq='1']")).toBeVisible();
});

test("metrics: charts from the stats history, usage in the instances table", async ({ browser }) => {
  const { page, app } = await setUp(browser, "metrics");
  const now = Date.now();
  const series = (id: string, type: string, scale: number) => ({
    instanceId: id,
    processType: type,
    points: Array.from({ length: 720 }, (_, i) => {
      const at = now - (719 - i) * 5000;
      return {
        at: new Date(at).toISOString(),
        cpuPercent: i === 0 ? null : Math.round((20 + 15 * Math.sin(i / 40) + (i % 7)) * scale * 100) / 100,
        memoryBytes: Math.round((180 + 40 * Math.sin(i / 90)) * 1024 * 1024 * scale),
        memoryLimitBytes: 512 * 1024 * 1024,
        netRxBytes: i * 40_000 * scale,
        netTxBytes: i * 90_000 * scale + (i % 5) * 1000,
        blkReadBytes: 0,
        blkWriteBytes: 0,
        pids: 4,
      };
    }),
  });
  const stats = {
    instances: [
      series("webaaaa0001", "web", 1),
      series("webbbbb0002", "web", 0.7),
      series("wrkcccc0003", "worker", 0.4),
    ],
  };
  const instance = (id: string, type: string, restarts: number) => ({
    id,
    processType: type,
    state: "running",
    desired: "running",
    release: 1,
    node: { id: "n1", name: "local" },
    hostPort: 40001,
    restarts,
    exitCode: restarts ? 137 : null,
    reason: restarts ? "oom-killed" : null, // the agent's word; the dashboard shows "OOM killed"
    startedAt: new Date(now - 3_600_000).toISOString(),
    createdAt: new Date(now - 3_600_000).toISOString(),
    updatedAt: new Date(now).toISOString(),
  });
  await page.route(`**/api/v1/apps/${app}/stats?**`, (route) => route.fulfill({ json: stats }));
  await page.route(`**/api/v1/apps/${app}/instances`, (route) =>
    route.fulfill({
      json: [
        instance("webaaaa0001", "web", 0),
        instance("webbbbb0002", "web", 2),
        instance("wrkcccc0003", "worker", 0),
      ],
    }),
  );

  await page.goto(`/apps/${app}/metrics`);
  await expect(page.getByTestId("chart")).toHaveCount(4);
  await expect(page.locator("canvas")).toHaveCount(4);
  const now_ = page.getByRole("table", { name: "Current usage" });
  await expect(now_.getByRole("row")).toHaveCount(3);
  await expect(now_).toContainText("web");
  await expect(now_).toContainText("2 instances");
  await expect(page.getByText("Restarts", { exact: true }).first()).toBeVisible();
  await shot(page, "65-metrics");
  await page.getByRole("button", { name: "Per instance" }).click();
  await expect(now_.getByRole("row")).toHaveCount(4);
  await expect(now_).toContainText("web.webbbbb0");

  await page.getByRole("link", { name: "Overview", exact: true }).click();
  const table = page.getByRole("table", { name: `Instances of ${app}` });
  await expect(table.getByRole("columnheader", { name: "CPU" })).toBeVisible();
  await expect(table.getByRole("row").filter({ hasText: "webbbbb0" })).toContainText("OOM killed");
  await expect(table.getByTestId("instance-memory").first()).toContainText("/ 512 MiB");
  await expect(table.getByTestId("instance-cpu").first()).toContainText("%");
  await shot(page, "66-overview-usage");

  await page.getByRole("link", { name: "Metrics", exact: true }).click();
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.locator("canvas")).toHaveCount(4);
  await shot(page, "67-metrics-phone");
});
