// `berth git:remote`: points a remote of the current git repository at the app's git URL, ready for `git push`.
import { execFile } from "node:child_process";
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import type { AppDetail } from "../api-types.ts";
import { appFromGitUrl, resolveApp } from "../app-resolver.ts";
import { CliError, usageError } from "../errors.ts";
import { clean, note, printJson, println } from "../output.ts";
import { authedClient, resolveTarget } from "../session.ts";
import { helperCommand } from "./git-credential.ts";

const DEFAULT_REMOTE = "berth";

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `git ARGS` in `cwd` (argv array, never a shell); resolves with the exit code, rejects if git cannot run. */
function git(args: string[], cwd: string): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      { cwd, timeout: 10_000, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") {
          const why =
            err.code === "ENOENT" ? "git is not installed (or not on PATH)" : `cannot run git: ${err.message}`;
          reject(new CliError(why));
          return;
        }
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

/** git's own reason for a failure: its first `fatal:`/`error:` line. */
function gitReason(r: GitResult): string {
  const line = r.stderr.split("\n").find((l) => /^(fatal|error): /.test(l)) ?? r.stderr.split("\n")[0] ?? "";
  return clean(line.replace(/^(fatal|error): /, "").trim()) || `git exited with code ${r.code}`;
}

/** Remote names git accepts in practice; anything else (options, paths, refspec syntax) is refused early. */
function checkRemoteName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name) || name.endsWith(".lock") || name.includes("..")) {
    throw usageError(`invalid remote name ${JSON.stringify(name)}: use letters, digits, dots, dashes and underscores`);
  }
  return name;
}

/** Throws a clear error unless `cwd` is inside a git repository (work tree or bare). */
async function requireRepository(cwd: string): Promise<void> {
  const r = await git(["rev-parse", "--git-dir"], cwd);
  if (r.code === 0) return;
  if (/not a git repository/i.test(r.stderr)) {
    throw usageError(
      "not inside a git repository: cd into your app's repository (or run `git init` there) and try again",
    );
  }
  throw new CliError(`cannot use the git repository here: ${gitReason(r)}`);
}

/** The git URL the server gave, if it is a plain http(s) Berth URL for `app` (never another transport). */
function checkGitUrl(url: string, app: string): string {
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    u = null;
  }
  if (
    !u ||
    (u.protocol !== "http:" && u.protocol !== "https:") ||
    u.username ||
    u.password ||
    appFromGitUrl(url) !== app
  ) {
    throw new CliError(
      `Berth answered an unexpected git URL for ${app} (${JSON.stringify(clean(url))}); not changing any remote`,
    );
  }
  return url;
}

async function gitRemote(opts: {
  json?: boolean;
  app?: string;
  remote?: string;
  credentialHelper?: boolean;
}): Promise<void> {
  const cwd = process.cwd();
  const remote = checkRemoteName(opts.remote ?? DEFAULT_REMOTE);
  const name = await resolveApp(opts.app, cwd);
  await requireRepository(cwd);
  const { body: app } = await authedClient().get<AppDetail>(`/apps/${seg(name)}`);
  const url = checkGitUrl(app.gitUrl, app.name);

  const current = await git(["remote", "get-url", "--", remote], cwd);
  // get-url exits 2 for "no such remote"; anything else is a real problem (broken config, permissions).
  if (current.code !== 0 && current.code !== 2)
    throw new CliError(`cannot read git remote ${remote}: ${gitReason(current)}`);
  const before = current.code === 0 ? current.stdout.trim() : null;
  let action: "added" | "updated" | "unchanged";
  if (before === url) {
    action = "unchanged";
  } else {
    const change = await git(
      before === null ? ["remote", "add", "--", remote, url] : ["remote", "set-url", "--", remote, url],
      cwd,
    );
    if (change.code !== 0) throw new CliError(`cannot set git remote ${remote}: ${gitReason(change)}`);
    action = before === null ? "added" : "updated";
  }

  // git push then uses this CLI's login: a credential helper for this URL's origin only (local repo config).
  const origin = new URL(url).origin;
  let helper = false;
  if (opts.credentialHelper !== false) {
    const key = `credential.${origin}.helper`;
    const set = await git(["config", "--local", "--replace-all", key, helperCommand(origin, resolveTarget().url)], cwd);
    if (set.code !== 0) throw new CliError(`cannot set ${key}: ${gitReason(set)}`);
    helper = true;
  }

  if (opts.json)
    return printJson({ app: app.name, remote, url, action, previousUrl: before, credentialHelper: helper });
  if (action === "added") println(`Added git remote ${remote}: ${url}`);
  else if (action === "updated") println(`Updated git remote ${remote}: ${url} (was ${before ?? "-"})`);
  else println(`Git remote ${remote} already points at ${url}`);
  println();
  println(`Deploy with:  git push ${remote} main`);
  if (helper) {
    println(`git uses your berth login for ${origin} (a credential helper in this repository's git config).`);
  } else {
    println("git asks for a user name and password: any user name, and an API token as the password");
    println("(create one with `berth tokens:create --name git`).");
  }
  if (remote !== DEFAULT_REMOTE)
    note(`Note: without -a, berth commands find the app through a remote named ${DEFAULT_REMOTE}, not ${remote}.`);
}

/** Registers the git topic. */
export function registerGitCommands(program: Command): void {
  program
    .command("git:remote")
    .description("add (or update) a git remote pointing at the app, for `git push berth main`")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("-r, --remote <name>", "name of the git remote", DEFAULT_REMOTE)
    .option("--no-credential-helper", "do not let git use this CLI's login (git then asks for an API token)")
    .action(gitRemote);
}
