import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ARCHIVE_NAME, archiveName, pruneBackups } from "./archive.ts";

let dir = "";
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("backup archive names and retention", () => {
  it("names archives by UTC time so that name order is time order", () => {
    const a = archiveName(new Date("2026-01-02T03:04:05.006Z"));
    expect(a).toBe("berth-backup-20260102T030405006Z.tar.gz");
    expect(ARCHIVE_NAME.test(a)).toBe(true);
    expect(archiveName(new Date("2026-01-02T03:04:05.007Z")) > a).toBe(true);
  });

  it("keeps the newest N archives and touches nothing else in the directory", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-prune-"));
    const names = [1, 2, 3, 4].map((d) => archiveName(new Date(Date.UTC(2026, 0, d))));
    for (const n of [...names, "notes.txt", "berth-backup-x.tar.gz.partial"]) fs.writeFileSync(path.join(dir, n), "");
    expect(await pruneBackups(dir, 2)).toEqual(names.slice(0, 2));
    expect(fs.readdirSync(dir).sort()).toEqual(
      ["berth-backup-x.tar.gz.partial", "notes.txt", ...names.slice(2)].sort(),
    );
  });
});
