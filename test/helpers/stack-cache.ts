// One platform-stack cache per test run, so the slow stack build (debootstrap) happens once per run, not per
// test server. Usable as a vitest globalSetup (workers inherit the variable) or from a single test file.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const SHARED_STACK_CACHE = "/var/cache/berth-stacks";

/**
 * Makes sure BERTH_STACK_CACHE_DIR is set: keeps a value given by the caller (CI can point it at a persistent
 * directory), else reuses /var/cache/berth-stacks when it exists, else creates a temp dir for this run.
 * Returns a cleanup function that removes only a temp dir this call created.
 */
export function useStackCache(): () => void {
  if (process.env.BERTH_STACK_CACHE_DIR) return () => undefined;
  if (fs.existsSync(SHARED_STACK_CACHE)) {
    process.env.BERTH_STACK_CACHE_DIR = SHARED_STACK_CACHE;
    return () => undefined;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-stack-cache-"));
  process.env.BERTH_STACK_CACHE_DIR = dir;
  return () => {
    fs.rmSync(dir, { recursive: true, force: true });
    delete process.env.BERTH_STACK_CACHE_DIR;
  };
}

/** vitest globalSetup entry: one cache for every test file of the run. */
export default function setup(): () => void {
  return useStackCache();
}
