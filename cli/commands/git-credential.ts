// `berth git:credential`: a git credential helper, so `git push berth main` uses the CLI's login instead of asking
// for a user name and password. `berth git:remote` registers it for the app's git URL only
// (`credential.<origin>.helper`), and the helper answers only when git asks for that origin and the CLI still talks
// to the server the remote came from: a token is never handed to another host.
import fs from "node:fs";
import type { Command } from "commander";
import { LAUNCHER } from "../install-paths.ts";
import { normalizeUrl, resolveTarget } from "../session.ts";

/** Single-quotes a word for the POSIX shell git runs helpers with ("!cmd" helpers go through `sh -c`). */
function shellWord(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The `credential.<origin>.helper` value: this node and CLI, pinned to `origin` and the CLI's `server`. */
export function helperCommand(origin: string, server: string): string {
  const words = [process.execPath, LAUNCHER, "git:credential", "--origin", origin, "--server", server];
  return `!${words.map(shellWord).join(" ")}`;
}

/** The git credential request on stdin: key=value lines up to an empty line. */
export function parseCredentialRequest(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line === "") break;
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** What to answer: credentials when the request is for `origin` and the CLI's target is `server`, else nothing. */
export function credentialAnswer(
  req: Record<string, string>,
  pinned: { origin: string; server: string },
  target: { url: string; token: string | null },
): string {
  if (!target.token || !req.protocol || !req.host) return "";
  let asked: string;
  try {
    asked = new URL(`${req.protocol}://${req.host}`).origin;
  } catch {
    return "";
  }
  if (asked !== new URL(pinned.origin).origin || normalizeUrl(pinned.server) !== target.url) return "";
  return `username=berth\npassword=${target.token}\n`;
}

async function credential(action: string, opts: { origin?: string; server?: string }): Promise<void> {
  // git also calls helpers with "store" and "erase"; the CLI's login is managed by `berth login/logout` only.
  if (action !== "get" || !opts.origin || !opts.server) return;
  const answer = credentialAnswer(
    parseCredentialRequest(fs.readFileSync(0, "utf8")),
    { origin: opts.origin, server: opts.server },
    resolveTarget(),
  );
  process.stdout.write(answer);
}

/** Registers the hidden helper command. */
export function registerGitCredentialCommand(program: Command): void {
  program
    .command("git:credential <action>", { hidden: true })
    .description("git credential helper (set up by git:remote)")
    .option("--origin <url>", "the git URL origin this helper answers for")
    .option("--server <url>", "the Berth server the CLI must be logged in to")
    .action(credential);
}
