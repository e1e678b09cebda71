// The saved login ({url, email, token}) in $XDG_CONFIG_HOME/berth/config.json, readable only by its owner.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
// zod's small build: the full one costs about 0.1 s of start-up on every call, and this schema is all the CLI needs.
import * as z from "zod/mini";
import { CliError } from "./errors.ts";

const SavedLoginSchema = z.object({
  url: z.string().check(z.minLength(1)),
  email: z.string(),
  token: z.string().check(z.minLength(1)),
});

export type SavedLogin = z.infer<typeof SavedLoginSchema>;

type Env = NodeJS.ProcessEnv;

/** Directory of the CLI's configuration: $XDG_CONFIG_HOME/berth, else ~/.config/berth. */
export function configDir(env: Env = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".config");
  return path.join(base, "berth");
}

/** Path of the saved login file. */
export function configPath(env: Env = process.env): string {
  return path.join(configDir(env), "config.json");
}

/** Reads the saved login, or null when there is none. */
export function loadLogin(env: Env = process.env): SavedLogin | null {
  const file = configPath(env);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  const parsed = SavedLoginSchema.safeParse(data);
  if (!parsed.success) throw new CliError(`${file} is not a valid Berth login; run \`berth login\` again`);
  return parsed.data;
}

/** Saves the login atomically with mode 0600 in a 0700 directory (the file holds a secret). */
export function saveLogin(login: SavedLogin, env: Env = process.env): string {
  const dir = configDir(env);
  const file = configPath(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // An existing directory may have been created with looser permissions by something else.
  fs.chmodSync(dir, 0o700);
  const tmp = path.join(dir, `.config.json.${process.pid}.tmp`);
  fs.rmSync(tmp, { force: true });
  // "wx" + mode: the secret never exists in a file other users could open, even briefly.
  fs.writeFileSync(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  fs.renameSync(tmp, file);
  return file;
}

/** Deletes the saved login; false when there was none. */
export function removeLogin(env: Env = process.env): boolean {
  try {
    fs.unlinkSync(configPath(env));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new CliError(`cannot remove ${configPath(env)}: ${(err as Error).message}`);
  }
}
