import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type InstanceMeta, InstanceStore } from "./instance-store.ts";
import { KeyedLock } from "./keyed-lock.ts";

describe("InstanceStore", () => {
  let dir: string;
  let store: InstanceStore;
  const meta: InstanceMeta = {
    id: "web-1",
    app: "shop",
    release: "v1",
    processType: "web",
    image: "localhost/shop:v1",
    createdAt: "2026-01-01T00:00:00.000Z",
    stage: "preparing",
    netns: "berth-web-1",
    storageName: "berth-web-1",
    cgroupPath: "/berth/web-1",
    cniAttached: false,
    userns: false,
    writableLayer: false,
  };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-store-test-"));
    store = new InstanceStore(dir);
    await store.init();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("peekMeta keeps a parsed record until meta.json is replaced, and forgets a removed one", async () => {
    await store.createDir("web-1");
    await store.writeMeta(meta);
    const first = await store.peekMeta("web-1");
    expect(first).toEqual(meta);
    expect(await store.peekMeta("web-1")).toBe(first); // same object: not parsed again
    await store.writeMeta({ ...meta, stage: "created" });
    expect(await store.peekMeta("web-1")).toMatchObject({ stage: "created" });
    await store.remove("web-1");
    expect(await store.peekMeta("web-1")).toBeNull();
  });

  it("round-trips meta, lists ids, reads exit codes and OOM marks, removes everything", async () => {
    await store.createDir("web-1");
    await expect(store.createDir("web-1")).rejects.toThrow(/EEXIST/);
    await store.writeMeta(meta);
    expect(await store.readMeta("web-1")).toEqual(meta);
    expect(await store.ids()).toEqual(["web-1"]);
    expect(await store.exitCode("web-1")).toBeUndefined();
    await fs.writeFile(store.exitFile("web-1"), "137");
    await fs.writeFile(path.join(store.persistDir("web-1"), "oom"), "");
    expect(await store.exitCode("web-1")).toBe(137);
    expect(await store.oomKilled("web-1")).toBe(true);
    await store.remove("web-1");
    expect(await store.readMeta("web-1")).toBeNull();
    expect(await store.ids()).toEqual([]);
  });

  it("treats a corrupt or mismatched record as unknown", async () => {
    await store.createDir("web-2");
    await fs.writeFile(store.file("web-2", "meta.json"), "{not json");
    expect(await store.readMeta("web-2")).toBeNull();
    await fs.writeFile(store.file("web-2", "meta.json"), JSON.stringify({ ...meta, id: "web-1" }));
    expect(await store.readMeta("web-2")).toBeNull();
  });

  it("never builds a path from an invalid id", () => {
    for (const id of ["../x", "a/b", "", "-x", "A"]) {
      expect(() => store.dir(id)).toThrow();
      expect(() => store.exitFile(id)).toThrow();
    }
  });
});

describe("KeyedLock", () => {
  it("serialises per key, runs different keys concurrently, survives failures", async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const task = (key: string, name: string, ms: number, fail = false) =>
      lock.run(key, async () => {
        order.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task("a", "a1", 30, true), task("a", "a2", 1), task("b", "b1", 5)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect(order.indexOf("start a2")).toBeGreaterThan(order.indexOf("end a1"));
    expect(order.indexOf("start b1")).toBeLessThan(order.indexOf("end a1"));
  });
});
