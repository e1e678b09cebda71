// The database file is switched to write-ahead logging once, and stays in that mode.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, inject, it } from "vitest";
import { createDb, useWriteAheadLog } from "./client.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-db-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it("puts the database in WAL mode, kept across connections", async () => {
  const file = path.join(dir, "berth.db");
  fs.copyFileSync(inject("templateDb"), file);
  const db = createDb(`file:${file}`);
  await useWriteAheadLog(db);
  await useWriteAheadLog(db);
  await db.team.create({ data: { name: "wal" } });
  // An interactive transaction hands its connection over and the next query opens a new one (libSQL).
  await db.$transaction(async (tx) => tx.team.update({ where: { name: "wal" }, data: { personal: true } }));
  expect(await db.$queryRawUnsafe("PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
  await db.$disconnect();
  const again = createDb(`file:${file}`);
  expect(await again.$queryRawUnsafe("PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
  expect((await again.team.findUniqueOrThrow({ where: { name: "wal" } })).personal).toBe(true);
  await again.$disconnect();
});

/** Opens a transaction on `db` that reads and then stays open (holding its read lock) until the returned function. */
async function openReader(db: ReturnType<typeof createDb>): Promise<() => Promise<void>> {
  let finish: (() => void) | undefined;
  const reading = db.$transaction(async (tx) => {
    await tx.team.count();
    await new Promise<void>((resolve) => (finish = resolve));
  });
  await expect.poll(() => finish).toBeDefined();
  return async () => {
    finish?.();
    await reading;
  };
}

it("in WAL mode a reader with an open transaction does not stop a commit", async () => {
  const file = path.join(dir, "wal-reader.db");
  fs.copyFileSync(inject("templateDb"), file);
  const db = createDb(`file:${file}`);
  await useWriteAheadLog(db);
  const other = createDb(`file:${file}`);
  const done = await openReader(other);
  await db.$transaction(async (tx) => tx.team.create({ data: { name: "during-read" } }));
  await done();
  expect(await other.team.count()).toBe(1);
  await db.$disconnect();
  await other.$disconnect();
});

it("a commit refused because another connection holds a lock is rolled back: nobody is locked out", async () => {
  const file = path.join(dir, "busy-commit.db");
  fs.copyFileSync(inject("templateDb"), file); // rollback-journal mode: a reader blocks a commit
  const db = createDb(`file:${file}`);
  const other = createDb(`file:${file}`);
  await db.team.create({ data: { name: "first" } });
  const done = await openReader(other);
  await expect(db.$transaction(async (tx) => tx.team.create({ data: { name: "second" } }))).rejects.toThrow(
    /database is locked/,
  );
  await done();
  // Without the rollback, the refused transaction kept its pending lock and every read of every connection failed
  // from then on. (Its COMMIT statement stays in progress until garbage collected, libsql-js#237, which still
  // delays writers in this mode; the control plane runs in WAL mode, where readers never refuse a commit.)
  expect((await db.team.findMany()).map((t) => t.name)).toEqual(["first"]);
  expect(await other.team.count()).toBe(1);
  await db.$disconnect();
  await other.$disconnect();
});

it("waits for another process's short write lock instead of failing at once, also after a transaction", async () => {
  const file = path.join(dir, "busy-wait.db");
  fs.copyFileSync(inject("templateDb"), file);
  const db = createDb(`file:${file}`);
  // The transaction hands the client's connection over; the next statement runs on a new one.
  await db.$transaction(async (tx) => tx.team.create({ data: { name: "before" } }));
  const holder = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { createClient } from "@libsql/client";
       const c = createClient({ url: process.argv[1] });
       const tx = await c.transaction("write");
       await tx.execute("UPDATE Team SET personal = 1 WHERE name = 'before'");
       console.log("locked");
       setTimeout(async () => { await tx.commit(); c.close(); }, 400);`,
      `file:${file}`,
    ],
    { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise((resolve) => holder.on("exit", resolve));
  await new Promise<void>((resolve) => holder.stdout.on("data", (d: Buffer) => d.includes("locked") && resolve()));
  const started = Date.now();
  await db.team.create({ data: { name: "after" } });
  expect(Date.now() - started).toBeGreaterThan(100);
  expect(await exited).toBe(0);
  expect((await db.team.findUniqueOrThrow({ where: { name: "before" } })).personal).toBe(true);
  await db.$disconnect();
});
