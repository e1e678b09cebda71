// Bare git repositories, one per app, under BERTH_DATA_DIR/git. Created lazily, with Berth's pre-receive hook.
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isValidResourceName } from "../validation/names.ts";
import { KeyedLock } from "../lib/concurrency.ts";
import { runTool } from "../process/run.ts";

const HOOK_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "pre-receive-hook.mjs");

/** Directory holding all app repositories. */
export function reposRoot(dataDir: string): string {
  return path.join(dataDir, "git");
}

/** Path of an app's bare repository; the name is re-validated here because it becomes a path. */
export function repoPath(dataDir: string, app: string): string {
  if (!isValidResourceName(app))
    throw new Error(`refusing repository path for invalid app name ${JSON.stringify(app)}`);
  return path.join(reposRoot(dataDir), `${app}.git`);
}

// Concurrent first requests for one app must not both run `git init`.
const initLock = new KeyedLock();

/** Creates the bare repository (idempotent) and (re)writes its pre-receive hook. */
export function ensureRepo(dataDir: string, app: string): Promise<string> {
  const dir = repoPath(dataDir, app);
  return initLock.run(dir, () => initRepo(dir));
}

async function initRepo(dir: string): Promise<string> {
  const dataDir = path.dirname(path.dirname(dir));
  await fs.mkdir(reposRoot(dataDir), { recursive: true, mode: 0o700 });
  try {
    await fs.access(path.join(dir, "HEAD"));
  } catch {
    await runTool("git", ["init", "--quiet", "--bare", "--initial-branch=main", "--", dir]);
    // Smart HTTP pushes need this; http.receivepack makes receive-pack available over http-backend.
    await runTool("git", ["-C", dir, "config", "http.receivepack", "true"]);
  }
  // The hook runs the build through the control plane; it is a tiny Node script run by this same Node binary.
  const hook = `#!${process.execPath}\nimport(${JSON.stringify(HOOK_SCRIPT)});\n`;
  await fs.writeFile(path.join(dir, "hooks", "pre-receive"), hook, { mode: 0o755 });
  return dir;
}

/** Deletes an app's repository (app destroy). */
export async function removeRepo(dataDir: string, app: string): Promise<void> {
  await fs.rm(repoPath(dataDir, app), { recursive: true, force: true });
}
