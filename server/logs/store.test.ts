import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LogStore, MAX_TEXT_CHARS, type NewLogEntry } from "./store.ts";

let root: string;
const shop = { id: "app1", name: "shop" };
const line = (text: string, extra: Partial<NewLogEntry> = {}): NewLogEntry => ({ source: "app", text, ...extra });
const many = (n: number, prefix = "l") => Array.from({ length: n }, (_, i) => line(`${prefix}${i}`));

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "berth-logstore-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("LogStore", () => {
  it("assigns increasing seqs and reads the newest lines, oldest first", async () => {
    const store = new LogStore(root);
    const out = await store.append(shop, [
      line("a", { stream: "stderr", processType: "web", instance: "web-1" }),
      line("b"),
    ]);
    expect(out.map((e) => e.seq)).toEqual([1, 2]);
    expect(out[0]).toMatchObject({ stream: "stderr", source: "app", processType: "web", instance: "web-1", text: "a" });
    await store.append(shop, many(5));
    const r = await store.read(shop, { lines: 3 });
    expect(r.entries.map((e) => e.text)).toEqual(["l2", "l3", "l4"]);
    expect(r.lastSeq).toBe(7);
    expect(fs.readdirSync(path.join(root, "shop")).filter((f) => f.endsWith(".ndjson"))).toHaveLength(1);
  });

  it("pages forward with after and filters by process type, instance and source", async () => {
    const store = new LogStore(root);
    await store.append(shop, [
      line("w1", { processType: "web", instance: "web-1" }),
      line("k1", { processType: "worker", instance: "worker-1" }),
      line("r1", { source: "router" }),
      line("w2", { processType: "web", instance: "web-2" }),
      line("b1", { source: "berth" }),
    ]);
    expect((await store.read(shop, { processType: "web" })).entries.map((e) => e.text)).toEqual(["w1", "w2"]);
    expect((await store.read(shop, { instance: "web-2" })).entries.map((e) => e.text)).toEqual(["w2"]);
    expect((await store.read(shop, { source: "router" })).entries.map((e) => e.text)).toEqual(["r1"]);
    const page = await store.read(shop, { after: 1, lines: 2 });
    expect(page.entries.map((e) => e.seq)).toEqual([2, 3]);
    expect(page.lastSeq).toBe(5);
    expect((await store.read(shop, { after: 5 })).entries).toEqual([]);
  });

  it("rotates by size, keeps the configured number of segments and never splits an entry", async () => {
    const store = new LogStore(root, { segmentBytes: 4096, segments: 2 });
    for (let i = 0; i < 20; i++) await store.append(shop, many(10, `b${i}-`));
    const files = fs.readdirSync(path.join(root, "shop")).filter((f) => f.endsWith(".ndjson"));
    expect(files).toHaveLength(2);
    for (const f of files) {
      const text = fs.readFileSync(path.join(root, "shop", f), "utf8");
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
      for (const l of text.trimEnd().split("\n")) expect(() => JSON.parse(l)).not.toThrow();
    }
    const all = await store.read(shop, { lines: 10_000 });
    expect(all.lastSeq).toBe(200);
    expect(all.entries.at(-1)?.text).toBe("b19-9");
    // What is kept is a contiguous tail of the log.
    const seqs = all.entries.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] as number) + i));
    expect(seqs.length).toBeLessThan(200);
    // after= inside the dropped range returns what is left from the oldest kept entry.
    expect((await store.read(shop, { after: 1, lines: 1 })).entries[0]?.seq).toBe(seqs[0]);
  });

  it("continues the seq after reopening, also after rotation and a torn last line", async () => {
    const a = new LogStore(root, { segmentBytes: 2048 });
    for (let i = 0; i < 10; i++) await a.append(shop, many(5));
    expect(await a.lastSeq(shop)).toBe(50);
    const b = new LogStore(root, { segmentBytes: 2048 });
    expect(await b.lastSeq(shop)).toBe(50);
    expect((await b.append(shop, [line("next")]))[0]?.seq).toBe(51);
    // A crash in the middle of a write leaves half a line.
    const dir = path.join(root, "shop");
    const newest = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".ndjson"))
      .sort()
      .at(-1) as string;
    fs.appendFileSync(path.join(dir, newest), '{"seq":52,"at":"2026-');
    const c = new LogStore(root, { segmentBytes: 2048 });
    expect((await c.append(shop, [line("after crash")]))[0]?.seq).toBe(52);
    const r = await c.read(shop, { lines: 2 });
    expect(r.entries.map((e) => [e.seq, e.text])).toEqual([
      [51, "next"],
      [52, "after crash"],
    ]);
  });

  it("stores text verbatim but cut at MAX_TEXT_CHARS", async () => {
    const store = new LogStore(root);
    const evil = '<script>alert(1)</script> \u001b[2J "quoted"\n';
    await store.append(shop, [line(evil), line("x".repeat(MAX_TEXT_CHARS + 100))]);
    const r = await store.read(shop);
    expect(r.entries[0]?.text).toBe(evil);
    expect(r.entries[1]?.text.length).toBe(MAX_TEXT_CHARS);
    expect(r.entries[1]?.text.endsWith("[truncated]")).toBe(true);
  });

  it("refuses names outside the allowlist and forgets a deleted app's logs when the name is reused", async () => {
    const store = new LogStore(root);
    await expect(store.append({ id: "x", name: "../etc" }, [line("x")])).rejects.toThrow();
    await expect(store.read({ id: "x", name: "a/b" })).rejects.toThrow();
    await store.append(shop, [line("old owner's secret")]);
    const reborn = { id: "app2", name: "shop" };
    const r = await new LogStore(root).read(reborn);
    expect(r.entries).toEqual([]);
    expect(r.lastSeq).toBe(0);
    expect((await store.read(reborn)).entries).toEqual([]);
  });

  it("keeps seqs unique and ordered under concurrent appends", async () => {
    const store = new LogStore(root, { segmentBytes: 8192 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(shop, many(7, `c${i}-`))));
    const r = await store.read(shop, { lines: 1000 });
    expect(r.lastSeq).toBe(140);
    const seqs = r.entries.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it("counts lines it could not write and starts the next successful append with a marker", async () => {
    const store = new LogStore(root);
    await store.append(shop, many(2, "ok"));
    // Make the current segment unwritable (a directory in its place), as a full disk makes every write fail.
    const seg = path.join(
      root,
      "shop",
      fs.readdirSync(path.join(root, "shop")).find((f) => f.endsWith(".ndjson"))!,
    );
    const saved = fs.readFileSync(seg);
    fs.rmSync(seg);
    fs.mkdirSync(seg);
    await expect(store.append(shop, many(3, "lost"))).rejects.toThrow();
    await expect(store.append(shop, many(2, "lost-too"))).rejects.toThrow();
    expect(store.lostLines(shop)).toBe(5);
    fs.rmdirSync(seg);
    fs.writeFileSync(seg, saved);
    const out = await store.append(shop, [line("back")]);
    expect(out.map((e) => [e.source, e.text])).toEqual([
      ["berth", "[berth] 5 log lines lost: they could not be stored (the platform's disk was full or failing)"],
      ["app", "back"],
    ]);
    expect(store.lostLines(shop)).toBe(0);
    const r = await store.read(shop, { lines: 10 });
    expect(r.entries.map((e) => e.text)).toEqual(["ok0", "ok1", out[0]!.text, "back"]);
  });

  it("caps an app's log at its two segments, oldest lines first to go", async () => {
    const store = new LogStore(root, { segmentBytes: 2048, segments: 2 });
    for (let i = 0; i < 50; i++) await store.append(shop, many(10, `b${i}-`));
    const bytes = fs
      .readdirSync(path.join(root, "shop"))
      .filter((f) => f.endsWith(".ndjson"))
      .reduce((n, f) => n + fs.statSync(path.join(root, "shop", f)).size, 0);
    expect(bytes).toBeLessThanOrEqual(2 * 2048 + 200);
    const r = await store.read(shop, { lines: 1000 });
    expect(r.entries.at(-1)?.text).toBe("b49-9");
    expect(r.entries[0]?.text).not.toBe("b0-0");
  });
});
