import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ContainerInfo } from "./backend.ts";
import { ListCache } from "./list-cache.ts";

const info = (id: string, status: ContainerInfo["status"] = "running"): ContainerInfo => ({
  id,
  app: "a",
  release: "v1",
  processType: "web",
  status,
  createdAt: "2026-12-02T00:00:00.000Z",
});

let dir: string;
let now = 0;
let cache: ListCache;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-list-cache-"));
  now = 1_000;
  cache = new ListCache(5_000, () => now);
});

afterEach(async () => {
  cache.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("ListCache", () => {
  it("caches nothing without a working exit watch", () => {
    expect(cache.watchExits(path.join(dir, "missing"))).toBe(false);
    cache.set(info("a"), cache.token("a"));
    expect(cache.get("a")).toBeUndefined();
  });

  it("keeps running containers only, until they expire (jittered around maxAgeMs)", () => {
    expect(cache.watchExits(dir)).toBe(true);
    cache.set(info("a"), cache.token("a"));
    cache.set(info("b", "created"), cache.token("b"));
    expect(cache.get("a")?.id).toBe("a");
    expect(cache.get("b")).toBeUndefined();
    now += 6_300; // past 1.25 x maxAgeMs
    expect(cache.get("a")).toBeUndefined();
  });

  it("drops an entry when conmon writes its exit file, and after an invalidation", async () => {
    cache.watchExits(dir);
    cache.set(info("a"), cache.token("a"));
    cache.set(info("b"), cache.token("b"));
    await fs.writeFile(path.join(dir, "a"), "0");
    for (let i = 0; i < 100 && cache.get("a"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")?.id).toBe("b");
    cache.invalidate("b");
    expect(cache.get("b")).toBeUndefined();
  });

  it("does not cache a read that an invalidation raced", () => {
    cache.watchExits(dir);
    const token = cache.token("a");
    cache.invalidate("a"); // e.g. a stop() while list() was reading
    cache.set(info("a"), token);
    expect(cache.get("a")).toBeUndefined();
  });
});
