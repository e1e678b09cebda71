// Finds the app a command acts on: `-a APP`, else the git remote `berth` of the current repository.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { usageError } from "./errors.ts";
import { checkName } from "./names.ts";

const run = promisify(execFile);

/** The app name in a Berth git URL (`http://HOST/git/APP.git`), or null if the URL is not one. */
export function appFromGitUrl(remote: string): string | null {
  let u: URL;
  try {
    u = new URL(remote.trim());
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  const m = /\/git\/([^/]+)\.git\/?$/.exec(u.pathname);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

/** URL of the git remote `berth` in `cwd`, or null (no git, not a repository, no such remote). */
export async function berthRemoteUrl(cwd: string = process.cwd()): Promise<string | null> {
  try {
    // argv array, no shell: nothing from the environment or repository is ever interpreted as a command.
    const { stdout } = await run("git", ["remote", "get-url", "berth"], { cwd, timeout: 10_000 });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/** The app from `-a`, else from the git remote; a usage error when neither names one. */
export async function resolveApp(flag: string | undefined, cwd: string = process.cwd()): Promise<string> {
  if (flag !== undefined) return checkName("app", flag);
  const remote = await berthRemoteUrl(cwd);
  if (!remote) throw usageError("no app given: pass -a APP, or run inside a git repository with a `berth` remote");
  const app = appFromGitUrl(remote);
  if (!app) throw usageError(`git remote \`berth\` (${JSON.stringify(remote)}) is not a Berth git URL; pass -a APP`);
  return checkName("app", app);
}
