// Lifecycle of the builder stores with real buildah (root tier): a stack rebuild keeps the image it replaced while a
// build in an app store still uses it; the start-up sweep removes stores of deleted apps and every non-stack image
// from the stack store; removing a store unmounts what is mounted in it. The static stack keeps this fast.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, it } from "vitest";
import { appStorage, removeAppStore, stackStorage, sweepBuilderStores } from "../../server/builds/builder-stores.ts";
import { removeImage, storageArgs, type BuilderStorage } from "../../server/builds/buildah.ts";
import { ensureStack, rebuildStack, useStack } from "../../server/builds/stacks/index.ts";
import { createLogger } from "../../server/logger.ts";
import { cleanupBuilder } from "../helpers/builder-cleanup.ts";
import { describeRoot } from "../helpers/root.ts";
import { until } from "../helpers/until.ts";

const run = promisify(execFile);
const log = createLogger("silent");
let dataDir = "";
let builderDir = "";

const buildah = async (s: BuilderStorage, args: string[]) =>
  (await run("buildah", [...storageArgs(s), ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
const imageIds = async (s: BuilderStorage) =>
  (await buildah(s, ["images", "--all", "--quiet", "--no-trunc"]))
    .split("\n")
    .filter(Boolean)
    .map((i) => i.replace(/^sha256:/, ""));
const mountsBelow = (dir: string) =>
  fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(`${dir}/`));

describeRoot("builder stores (buildah)", () => {
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-stores-"));
    builderDir = path.join(dataDir, "builder");
  });
  afterEach(async () => {
    await cleanupBuilder(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps a replaced stack image while a build in an app store uses it, and removes it after", async () => {
    const stacks = stackStorage(builderDir);
    const app = appStorage(builderDir, "app1", { withStacks: true });
    const lease = await useStack(stacks, "static", { cacheDir: null });
    const ctr = (await buildah(app, ["from", "--quiet", "--pull=never", "--", lease.id])).trim();
    await new Promise((r) => setTimeout(r, 1100)); // image ids include the creation second
    const rebuilt = await rebuildStack(stacks, "static", { cacheDir: null });
    expect(rebuilt.id).not.toBe(lease.id);
    expect(await imageIds(stacks)).toEqual(expect.arrayContaining([lease.id, rebuilt.id]));
    // The build goes on on the old layers: it runs, commits and can be exported.
    await buildah(app, [
      "run",
      "--runtime",
      "/usr/sbin/runc",
      "--isolation",
      "oci",
      "--network",
      "none",
      ctr,
      "--",
      "/bin/busybox",
      "touch",
      "/app/x",
    ]);
    await buildah(app, ["commit", "--quiet", "--rm", ctr, "berth-build/app1:latest"]);
    await buildah(app, ["push", "--quiet", "berth-build/app1:latest", `oci-archive:${path.join(dataDir, "app.tar")}`]);
    expect(fs.statSync(path.join(dataDir, "app.tar")).size).toBeGreaterThan(100_000);
    // A new build gets the new image.
    const next = await useStack(stacks, "static", { cacheDir: null });
    expect(next.id).toBe(rebuilt.id);
    next.release();
    // The image built on it leaves the app store, the lease ends: the replaced image goes.
    // (buildah also tries to remove the now nameless parent, the old stack, which it refuses: read-only there.)
    await removeImage(app, "berth-build/app1:latest");
    const own = JSON.parse(await buildah(app, ["images", "--all", "--json"])) as { readonly: boolean }[];
    expect(own.filter((i) => !i.readonly)).toEqual([]);
    lease.release();
    // (Listing while buildah removes an image can fail for a moment: "image not known".)
    await until(
      "the replaced stack image to be removed",
      async () => !(await imageIds(stacks).catch(() => [lease.id])).includes(lease.id),
      30_000,
    );
    expect(await imageIds(stacks)).toEqual([rebuilt.id]);
  });

  it("sweeps at start: stores of deleted apps, and everything but stacks in the stack store", async () => {
    const stacks = stackStorage(builderDir);
    const stack = await ensureStack(stacks, "static", { cacheDir: null });
    // What an older version left in the shared store: an app image, an untagged one, a working container.
    const old = (await buildah(stacks, ["from", "--quiet", "--pull=never", stack.image])).trim();
    await buildah(stacks, ["commit", "--quiet", old, "berth-build/someapp:latest"]);
    await buildah(stacks, ["commit", "--quiet", "--rm", old]);
    await buildah(stacks, ["from", "--quiet", "--pull=never", stack.image]);
    // A deleted app's store with a mounted working container, and a live app's store.
    const dead = appStorage(builderDir, "deadapp", { withStacks: true });
    const dctr = (await buildah(dead, ["from", "--quiet", "--pull=never", stack.id])).trim();
    await buildah(dead, ["mount", dctr]);
    expect(mountsBelow(path.join(builderDir, "apps", "deadapp")).length).toBeGreaterThan(0);
    const live = appStorage(builderDir, "liveapp", { withStacks: false });
    await buildah(live, ["images"]);

    await sweepBuilderStores(builderDir, new Set(["liveapp"]), log);
    expect(fs.readdirSync(path.join(builderDir, "apps"))).toEqual(["liveapp"]);
    expect(mountsBelow(path.join(builderDir, "apps", "deadapp"))).toEqual([]);
    expect(await imageIds(stacks)).toEqual([stack.id]);
    expect((await buildah(stacks, ["containers", "--quiet"])).trim()).toBe("");
  });

  it("removes a store with a mounted container, and leaves nothing mounted", async () => {
    const stacks = stackStorage(builderDir);
    const stack = await ensureStack(stacks, "static", { cacheDir: null });
    const app = appStorage(builderDir, "app3", { withStacks: true });
    const ctr = (await buildah(app, ["from", "--quiet", "--pull=never", stack.id])).trim();
    await buildah(app, ["mount", ctr]);
    await removeAppStore(builderDir, "app3");
    expect(fs.existsSync(path.join(builderDir, "apps", "app3"))).toBe(false);
    expect(mountsBelow(path.join(builderDir, "apps"))).toEqual([]);
    // The stack store is untouched.
    expect(await imageIds(stacks)).toEqual([stack.id]);
  });
});
