import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isRuntimeError } from "./errors.ts";
import { BLOCK_SIZE, IdRangeAllocator, parseIdRange } from "./id-ranges.ts";

describe("IdRangeAllocator", () => {
  let dir: string;
  let file: string;
  const config = { firstId: 1_000_000, blocks: 3 };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-idranges-"));
    file = path.join(dir, "id-ranges.json");
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("gives each team its own block, the same one every time", async () => {
    const a = await IdRangeAllocator.open(file, config);
    const ta = await a.rangeFor("team-a");
    const tb = await a.rangeFor("team-b");
    expect(ta).toEqual({ hostId: 1_000_000, size: BLOCK_SIZE });
    expect(tb).toEqual({ hostId: 1_000_000 + BLOCK_SIZE, size: BLOCK_SIZE });
    expect(await a.rangeFor("team-a")).toEqual(ta);
  });

  it("persists allocations (mode 0600) so a restarted agent keeps every team's block", async () => {
    const a = await IdRangeAllocator.open(file, config);
    await a.rangeFor("team-a");
    await a.rangeFor("team-b");
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const b = await IdRangeAllocator.open(file, config);
    expect(await b.rangeFor("team-b")).toEqual({ hostId: 1_000_000 + BLOCK_SIZE, size: BLOCK_SIZE });
    expect(await b.rangeFor("team-c")).toEqual({ hostId: 1_000_000 + 2 * BLOCK_SIZE, size: BLOCK_SIZE });
  });

  it("allocates concurrently without handing one block to two teams", async () => {
    const a = await IdRangeAllocator.open(file, config);
    const ranges = await Promise.all(["t1", "t2", "t3"].map((t) => a.rangeFor(t)));
    expect(new Set(ranges.map((r) => r.hostId)).size).toBe(3);
  });

  it("never reuses a block taken under an earlier, different range setting", async () => {
    const a = await IdRangeAllocator.open(file, config);
    await a.rangeFor("team-a"); // 1,000,000
    // The range now starts half a block lower: its first block overlaps team-a's and must be skipped.
    const b = await IdRangeAllocator.open(file, { firstId: 1_000_000 - BLOCK_SIZE / 2, blocks: 4 });
    const r = await b.rangeFor("team-b");
    expect(r.hostId >= 1_000_000 + BLOCK_SIZE || r.hostId + BLOCK_SIZE <= 1_000_000).toBe(true);
  });

  it("fails clearly when every block is taken, and on a bad team id", async () => {
    const a = await IdRangeAllocator.open(file, { firstId: 1_000_000, blocks: 1 });
    await a.rangeFor("team-a");
    await expect(a.rangeFor("team-b")).rejects.toThrow(/no free user namespace id range/);
    const err = await a.rangeFor("../x").catch((e: unknown) => e);
    expect(isRuntimeError(err, "invalid")).toBe(true);
  });

  it("refuses a corrupt file instead of forgetting who owns which ids", async () => {
    await fs.writeFile(file, "{not json");
    await expect(IdRangeAllocator.open(file, config)).rejects.toThrow(/corrupt/);
    await fs.writeFile(file, JSON.stringify({ version: 1, teams: { "team-a": 0 } }));
    await expect(IdRangeAllocator.open(file, config)).rejects.toThrow(/corrupt/);
  });
});

describe("parseIdRange", () => {
  it("cuts whole blocks from FIRST-LAST", () => {
    expect(parseIdRange("1000000-1074741823")).toEqual({ firstId: 1_000_000, blocks: 16_384 });
    expect(parseIdRange("100000-231071")).toEqual({ firstId: 100_000, blocks: 2 });
  });
  it.each(["", "1000000", "a-b", "-5-10", "0-70000", "100000-100001", "100000-4294967295"])("refuses %j", (t) => {
    expect(() => parseIdRange(t)).toThrow();
  });
});
