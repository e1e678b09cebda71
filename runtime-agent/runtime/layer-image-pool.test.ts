import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../log.ts";
import { LayerImagePool } from "./layer-image-pool.ts";

let dir: string;
let formatted: number[];
let pool: LayerImagePool;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-layer-pool-"));
  formatted = [];
  // Fake formatter: writes the size into the file, so a taken image shows which size it was made for.
  pool = new LayerImagePool(
    path.join(dir, "pool"),
    async (file, size) => {
      formatted.push(size);
      await fs.writeFile(file, String(size), { flag: "wx" });
    },
    silentLogger(),
    2,
    2,
  );
  await pool.init();
});

afterEach(async () => {
  await pool.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 5));
};

describe("LayerImagePool", () => {
  it("has nothing before a size was asked for, then keeps two of it ready", async () => {
    expect(await pool.take(100, path.join(dir, "a.img"))).toBe(false);
    await settle();
    expect(formatted).toEqual([100, 100]);
    expect(await pool.take(100, path.join(dir, "b.img"))).toBe(true);
    expect(await fs.readFile(path.join(dir, "b.img"), "utf8")).toBe("100");
    await settle();
    expect(formatted).toEqual([100, 100, 100]);
    expect((await fs.readdir(path.join(dir, "pool"))).filter((f) => f.endsWith(".img"))).toHaveLength(2);
  });

  it("never replaces an existing destination, and forgets the least recent size beyond its limit", async () => {
    await pool.take(100, path.join(dir, "x.img"));
    await settle();
    await fs.writeFile(path.join(dir, "taken.img"), "mine");
    expect(await pool.take(100, path.join(dir, "taken.img"))).toBe(false);
    expect(await fs.readFile(path.join(dir, "taken.img"), "utf8")).toBe("mine");
    await pool.take(200, path.join(dir, "y.img"));
    await pool.take(300, path.join(dir, "z.img"));
    await settle();
    const files = (await fs.readdir(path.join(dir, "pool"))).filter((f) => f.endsWith(".img"));
    expect(files.some((f) => f.startsWith("100-"))).toBe(false);
    expect(files.filter((f) => f.startsWith("300-"))).toHaveLength(2);
  });

  it("starts empty: init drops what an earlier run left", async () => {
    await fs.writeFile(path.join(dir, "pool", "100-old.img"), "old");
    await pool.init();
    expect(await fs.readdir(path.join(dir, "pool"))).toEqual([]);
  });
});
