// `berth open -a APP`: opens the app's web URL in the browser (xdg-open, or `open` on macOS), or prints it when there
// is no opener or --print is given. The opener is spawned with the URL as its one argument, never through a shell.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import type { AppDetail } from "../api-types.ts";
import { resolveApp } from "../app-resolver.ts";
import { CliError } from "../errors.ts";
import { clean, printJson, println } from "../output.ts";
import { authedClient } from "../session.ts";

interface OpenOpts {
  app?: string;
  json?: boolean;
  print?: boolean;
}

/**
 * The server's web URL if it is a plain http(s) URL without credentials. Openers hand anything else to other
 * programs (file:, custom schemes), and a URL starting with `-` would be read as an option: the scheme check keeps
 * both out (xdg-open takes no `--`).
 */
export function checkWebUrl(raw: string, app: string): string {
  let u: URL | null;
  try {
    u = new URL(raw);
  } catch {
    u = null;
  }
  if (
    !u ||
    (u.protocol !== "http:" && u.protocol !== "https:") ||
    u.username ||
    u.password ||
    !/^https?:\/\//.test(raw)
  ) {
    throw new CliError(
      `Berth answered an unexpected web URL for ${app} (${JSON.stringify(clean(raw))}); not opening it`,
    );
  }
  return raw;
}

/** The first executable `name` on PATH, or null. */
export function findOnPath(name: string, envPath: string = process.env.PATH ?? ""): string | null {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** Starts `opener URL` detached (the browser outlives the CLI); false if it could not be started. */
function launch(opener: string, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(opener, [url], { stdio: "ignore", detached: true });
    child.once("error", () => resolve(false));
    child.once("spawn", () => {
      child.unref();
      resolve(true);
    });
  });
}

async function open(opts: OpenOpts): Promise<void> {
  const name = await resolveApp(opts.app);
  const { body: app } = await authedClient().get<AppDetail>(`/apps/${seg(name)}`);
  const url = checkWebUrl(app.webUrl, app.name);
  if (opts.json) return printJson({ app: app.name, url });
  const opener = opts.print ? null : findOnPath(process.platform === "darwin" ? "open" : "xdg-open");
  if (opener && (await launch(opener, url))) return println(`Opening ${url}`);
  println(url);
}

/** Registers `open`. */
export function registerOpenCommand(program: Command): void {
  program
    .command("open")
    .description("open the app's web URL in the browser (prints it when there is no xdg-open)")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--print", "only print the URL")
    .action(open);
}
