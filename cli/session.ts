// Which Berth to talk to and as whom: BERTH_URL / BERTH_TOKEN override the saved login.
import { BerthApi } from "./api-client.ts";
import { loadLogin, type SavedLogin } from "./config-store.ts";
import { CliError, usageError } from "./errors.ts";

/** URL used when neither BERTH_URL nor a saved login names one. */
export const DEFAULT_URL = "http://localhost:3000";

/** The resolved target of API calls. */
export interface Target {
  url: string;
  token: string | null;
  /** Where the token came from; null when not logged in. */
  source: "env" | "config" | null;
  saved: SavedLogin | null;
}

/** Validates an http(s) base URL and drops trailing slashes so paths can be appended. */
export function normalizeUrl(raw: string, what = "BERTH_URL"): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError(`${what} ${JSON.stringify(raw)} is not a valid URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw usageError(`${what} must be an http:// or https:// URL`);
  if (u.username || u.password) throw usageError(`${what} must not contain credentials`);
  return `${u.origin}${u.pathname}`.replace(/\/+$/, "");
}

/** Resolves URL and token from the environment and the saved login. */
export function resolveTarget(env: NodeJS.ProcessEnv = process.env): Target {
  const saved = loadLogin(env);
  const url = normalizeUrl(env.BERTH_URL || saved?.url || DEFAULT_URL);
  if (env.BERTH_TOKEN) return { url, token: env.BERTH_TOKEN, source: "env", saved };
  // A saved token is only sent to the server it was issued by, never to another BERTH_URL.
  if (saved && normalizeUrl(saved.url) === url) return { url, token: saved.token, source: "config", saved };
  return { url, token: null, source: null, saved };
}

/** An API client with credentials, or a clear error telling the user to log in. */
export function authedClient(env: NodeJS.ProcessEnv = process.env): BerthApi {
  const t = resolveTarget(env);
  if (!t.token) throw new CliError(`not logged in to ${t.url}; run \`berth login\` or set BERTH_TOKEN`);
  const hint = t.source === "env" ? "check BERTH_TOKEN" : "run `berth login`";
  return new BerthApi(t.url, { token: t.token }, { unauthorizedHint: hint });
}
