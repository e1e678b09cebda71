// Backup ids, paths and the fixed scripts: only allowlisted names reach the disk, no credential reaches an argv.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { addonBackupDir, backupFile, downloadName, isBackupId, newBackupId } from "./store.ts";
import { captureScript, restoreScript } from "./commands.ts";

describe("add-on backup store", () => {
  it("makes ids of one shape and accepts only that shape", () => {
    const id = newBackupId();
    expect(id).toMatch(/^bk-[0-9a-f]{16}$/);
    expect(newBackupId()).not.toBe(id);
    for (const bad of [
      "",
      "bk-",
      "bk-0123456789ABCDEF",
      "bk-0123456789abcdef0",
      "../bk-0123456789abcdef",
      "bk-0123456789abcde/",
      "bk-0123456789abcdef\0",
      "bk-..%2f..%2fetc",
      "__proto__",
    ])
      expect(isBackupId(bad), bad).toBe(false);
  });

  it("builds paths below <data>/addon-backups/<team>/<add-on> and refuses anything else", () => {
    const file = backupFile("/data", "cteam123", "postgres-1a2b3c4d", "postgres", "bk-0123456789abcdef");
    expect(file).toBe("/data/addon-backups/cteam123/postgres-1a2b3c4d/bk-0123456789abcdef.pgdump");
    expect(backupFile("/data", "cteam123", "redis-1a2b3c4d", "redis", "bk-0123456789abcdef")).toMatch(/\.rdb$/);
    expect(() => backupFile("/data", "cteam123", "postgres-1a2b3c4d", "postgres", "../../etc/passwd")).toThrow();
    expect(() => backupFile("/data", "../x", "postgres-1a2b3c4d", "postgres", "bk-0123456789abcdef")).toThrow();
    expect(() => backupFile("/data", "cteam123", "../postgres", "postgres", "bk-0123456789abcdef")).toThrow();
    expect(() => backupFile("/data", "cteam123", "postgres-1a2b3c4d", "mysql", "bk-0123456789abcdef")).toThrow();
    expect(() => addonBackupDir("/data", "Team/..", "postgres-1a2b3c4d")).toThrow();
    expect(path.relative("/data/addon-backups", file).startsWith("..")).toBe(false);
    expect(downloadName("postgres-1a2b3c4d", "postgres", "bk-0123456789abcdef")).toBe(
      "postgres-1a2b3c4d-bk-0123456789abcdef.pgdump",
    );
    expect(() => downloadName("postgres-1a2b3c4d", "postgres", 'bk-x"; evil')).toThrow();
  });

  it("scripts name credentials only as variables", () => {
    for (const kind of ["postgres", "redis"] as const) {
      for (const script of [captureScript(kind), restoreScript(kind)]) {
        expect(script).toMatch(/\$BERTH_(PG|REDIS)_PASSWORD/);
        expect(script).not.toMatch(/-a\s|--pass|PASSWORD=[^"]/);
      }
    }
    expect(captureScript("postgres")).toContain("pg_dump -Fc");
    expect(restoreScript("postgres")).toContain("--clean --if-exists");
    expect(restoreScript("postgres")).toContain("--single-transaction");
    expect(captureScript("redis")).toContain("--rdb");
    expect(restoreScript("redis")).toContain("SHUTDOWN NOSAVE");
  });
});
