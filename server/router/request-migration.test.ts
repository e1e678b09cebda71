import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../logger.ts";
import { enableRequestMigration } from "./request-migration.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function sysctl(value: string | null): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-sysctl-"));
  dirs.push(dir);
  const file = path.join(dir, "tcp_migrate_req");
  if (value !== null) fs.writeFileSync(file, `${value}\n`);
  return file;
}

describe("enableRequestMigration", () => {
  it("turns the setting on, and leaves it alone when it is on", async () => {
    const log = createLogger("silent");
    const off = sysctl("0");
    expect(await enableRequestMigration(log, off)).toBe(true);
    expect(fs.readFileSync(off, "utf8")).toBe("1");
    const on = sysctl("1");
    const before = fs.statSync(on).mtimeMs;
    expect(await enableRequestMigration(log, on)).toBe(true);
    expect(fs.statSync(on).mtimeMs).toBe(before);
  });

  it("warns and goes on when the kernel has no such setting", async () => {
    const log = createLogger("silent");
    const warn = vi.spyOn(log, "warn");
    expect(await enableRequestMigration(log, path.join(sysctl(null), "missing"))).toBe(false);
    expect(warn).toHaveBeenCalledOnce();
  });
});
