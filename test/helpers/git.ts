// Runs the real git client against a test server (argv arrays, no prompts, isolated config).
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface GitResult {
  code: number;
  out: string;
}

/** Runs `git args...` in `cwd` (plus `env`); never throws, returns exit code and combined output. */
export function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile(
      "git",
      args,
      {
        cwd,
        env: {
          ...process.env,
          HOME: cwd,
          GIT_TERMINAL_PROMPT: "0",
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_AUTHOR_NAME: "Test",
          GIT_AUTHOR_EMAIL: "test@example.com",
          GIT_COMMITTER_NAME: "Test",
          GIT_COMMITTER_EMAIL: "test@example.com",
          ...env,
        },
        maxBuffer: 20 * 1024 * 1024,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** The push/fetch URL of an app with a token as the basic-auth password. */
export function remoteUrl(base: string, app: string, token: string): string {
  const u = new URL(`${base}/git/${app}.git`);
  u.username = "berth";
  u.password = token;
  return u.toString();
}

/** A new git work tree with `files` committed on `main`; Buffer contents are written executable (binaries). */
export async function makeRepo(files: Record<string, string | Buffer>): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-src-"));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content, { mode: Buffer.isBuffer(content) ? 0o755 : 0o644 });
  }
  await git(dir, ["init", "-q", "-b", "main"]);
  await git(dir, ["add", "-A"]);
  await git(dir, ["commit", "-q", "-m", "initial"]);
  return dir;
}
