import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.ts";
import { storageArgs } from "./buildah.ts";
import {
  appStorage,
  appStoreBusy,
  appStoreDir,
  discardAppStore,
  npmCacheDir,
  stackStorage,
  sweepBuilderStores,
  withAppStore,
} from "./builder-stores.ts";

const log = createLogger("silent");
let dir = "";

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-stores-test-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("builder store layout", () => {
  it("keys app stores by the app's id and refuses anything that is not an id", () => {
    expect(appStoreDir("/d/builder", "cm1abcxyz0000")).toBe("/d/builder/apps/cm1abcxyz0000");
    for (const bad of ["", "..", "a/b", "../x", "a b", "x".repeat(65)])
      expect(() => appStoreDir("/d/builder", bad)).toThrow(/refusing a builder store/);
    expect(npmCacheDir("/d/builder", "id1")).toBe("/d/builder/apps/id1/npm-cache");
  });

  it("gives Dockerfile builds the app's store alone and stack builds the stack store read-only", () => {
    const alone = appStorage("/d/builder", "id1", { withStacks: false });
    expect(storageArgs(alone)).toEqual([
      "--root",
      "/d/builder/apps/id1/storage",
      "--runroot",
      "/d/builder/apps/id1/run",
      "--storage-driver",
      "overlay",
    ]);
    const withStacks = appStorage("/d/builder", "id1", { withStacks: true });
    expect(storageArgs(withStacks).slice(-2)).toEqual(["--storage-opt", "overlay.imagestore=/d/builder/storage"]);
    expect(stackStorage("/d/builder")).toEqual({ root: "/d/builder/storage", runRoot: "/d/builder/run" });
  });
});

describe("store removal", () => {
  it("removes a store right away when no build holds it", async () => {
    fs.mkdirSync(path.join(appStoreDir(dir, "app1"), "npm-cache"), { recursive: true });
    await discardAppStore(dir, "app1", log);
    expect(fs.existsSync(appStoreDir(dir, "app1"))).toBe(false);
  });

  it("does not wait for a running build: the store goes once the build is over", async () => {
    fs.mkdirSync(path.join(appStoreDir(dir, "app2"), "npm-cache"), { recursive: true });
    let finish: () => void = () => undefined;
    const build = withAppStore(dir, "app2", () => new Promise<void>((r) => (finish = r)));
    expect(appStoreBusy(dir, "app2")).toBe(true);
    await discardAppStore(dir, "app2", log); // returns although the build still runs
    expect(fs.existsSync(appStoreDir(dir, "app2"))).toBe(true);
    finish();
    await build;
    // The removal runs after the build in the background (buildah, umount): poll for it, up to 15 s on a loaded machine.
    // The lock is released just after the directory goes (a few ticks later), so wait for both.
    for (let i = 0; i < 750 && (fs.existsSync(appStoreDir(dir, "app2")) || appStoreBusy(dir, "app2")); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(fs.existsSync(appStoreDir(dir, "app2"))).toBe(false);
    expect(appStoreBusy(dir, "app2")).toBe(false);
  });

  it("sweeps stores of apps that no longer exist and the old by-name npm caches at start", async () => {
    for (const id of ["kept", "gone1", "gone2"])
      fs.mkdirSync(path.join(appStoreDir(dir, id), "npm-cache"), { recursive: true });
    fs.mkdirSync(path.join(dir, "apps", "not an id"), { recursive: true });
    fs.mkdirSync(path.join(dir, "cache", "some-app", "npm"), { recursive: true });
    await sweepBuilderStores(dir, new Set(["kept"]), log);
    expect(fs.readdirSync(path.join(dir, "apps")).sort()).toEqual(["kept", "not an id"]);
    expect(fs.existsSync(path.join(dir, "cache"))).toBe(false);
  });
});
