// Registry credentials for child processes (buildah, skopeo): a containers auth file, never `--creds user:password`
// in argv, which every local user can read in /proc/PID/cmdline. The file is 0600 in a fresh 0700 directory of its
// own and is removed when the command is done.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface RegistryLogin {
  /** `host[:port]` as the image references name it. */
  host: string;
  username: string;
  password: string;
}

/** The containers auth.json text for `logins` (none: an auth file that holds no credentials). Pure. */
export function authFileText(logins: RegistryLogin[]): string {
  const auths: Record<string, { auth: string }> = {};
  for (const l of logins) auths[l.host] = { auth: Buffer.from(`${l.username}:${l.password}`).toString("base64") };
  return `${JSON.stringify({ auths })}\n`;
}

/** Runs `fn` with the path of an auth file holding `logins`; the file is removed afterwards, also on failure. */
export async function withAuthFile<T>(logins: RegistryLogin[], fn: (authFile: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-auth-"));
  try {
    const file = path.join(dir, "auth.json");
    await fs.writeFile(file, authFileText(logins), { mode: 0o600 });
    return await fn(file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
