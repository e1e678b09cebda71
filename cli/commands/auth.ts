// `berth login`, `logout`, `whoami`: turn an email/password sign-in into a saved API token, and back.
import type { Command } from "commander";
import { BerthApi, type ResponseHeaders } from "../api-client.ts";
import type { CreatedToken, Session } from "../api-types.ts";
import { configPath, loadLogin, removeLogin, saveLogin, type SavedLogin } from "../config-store.ts";
import { ApiError, CliError } from "../errors.ts";
import { note, printJson, println } from "../output.ts";
import { askCredentials } from "../prompt.ts";
import { authedClient, DEFAULT_URL, normalizeUrl } from "../session.ts";
import { defaultTokenName, revokeTokenBySecret } from "../token-ops.ts";

interface JsonOpt {
  json?: boolean;
}

/** Reads the saved login, treating a damaged file as absent (login overwrites it anyway). */
function savedOrNull(): SavedLogin | null {
  try {
    return loadLogin();
  } catch {
    return null;
  }
}

/** The `berth_session` cookie pair from a login answer. */
function sessionCookie(headers: ResponseHeaders): string | null {
  for (const c of headers.getSetCookie()) {
    const pair = c.split(";")[0]?.trim();
    if (pair?.startsWith("berth_session=")) return pair;
  }
  return null;
}

async function login(opts: JsonOpt & { email?: string; password?: string }): Promise<void> {
  const saved = savedOrNull();
  const url = normalizeUrl(process.env.BERTH_URL || saved?.url || DEFAULT_URL);
  const creds = await askCredentials(opts, saved?.email);
  const anon = new BerthApi(url, {}, { unauthorizedHint: null });
  const signedIn = await anon.post<Session>("/auth/login", creds);
  const cookie = sessionCookie(signedIn.headers);
  if (!cookie) throw new CliError(`Berth at ${url} signed in without a session cookie; is BERTH_URL a Berth server?`);
  // Sign-in is cookie based (made for browsers); the CLI trades that session for a revocable API token.
  const web = new BerthApi(url, { cookie, csrf: signedIn.body.csrfToken }, { unauthorizedHint: null });
  const { body: created } = await web.post<CreatedToken>("/tokens", { name: defaultTokenName() });
  // The browser-style session was only needed to mint the token; end it so nothing else is left behind.
  await web.post("/auth/logout").catch(() => undefined);
  const email = signedIn.body.user.email;
  const file = saveLogin({ url, email, token: created.token });
  // Logging in again replaces the saved token; revoke the old one so forgotten secrets do not pile up.
  if (saved && normalizeUrl(saved.url) === url && saved.token !== created.token) {
    await revokeTokenBySecret(new BerthApi(url, { token: saved.token }), saved.token).catch(() => undefined);
  }
  if (opts.json)
    return printJson({
      url,
      email,
      user: signedIn.body.user,
      tokenId: created.id,
      tokenName: created.name,
      configFile: file,
    });
  println(`Logged in to ${url} as ${email}.`);
  println(`Saved an API token (${created.name}) in ${file}.`);
}

async function logout(opts: JsonOpt): Promise<void> {
  const saved = loadLogin();
  if (!saved) {
    if (opts.json) return printJson({ loggedOut: false, revoked: false });
    return println("Not logged in.");
  }
  let problem: string | null = null;
  try {
    await revokeTokenBySecret(new BerthApi(normalizeUrl(saved.url), { token: saved.token }), saved.token);
  } catch (err) {
    // 401: the token is already revoked or expired, which is what logout wants anyway.
    if (!(err instanceof ApiError && err.status === 401)) problem = err instanceof Error ? err.message : String(err);
  }
  removeLogin();
  if (problem) {
    throw new CliError(
      `removed ${configPath()}, but could not revoke the token on the server (${problem}); revoke it with \`berth tokens:revoke\` or in the dashboard`,
    );
  }
  if (opts.json) return printJson({ loggedOut: true, revoked: true, url: saved.url, email: saved.email });
  println(`Logged out of ${saved.url}; the token is revoked and ${configPath()} removed.`);
}

async function whoami(opts: JsonOpt): Promise<void> {
  const api = authedClient();
  const { body } = await api.get<Session>("/session");
  if (opts.json) return printJson(body);
  println(body.user.email);
  if (process.stderr.isTTY) note(`(on ${api.url}${body.user.isAdmin ? ", instance admin" : ""})`);
}

/** Registers login, logout and whoami. */
export function registerAuthCommands(program: Command): void {
  program
    .command("login")
    .description("sign in and save an API token for this machine")
    .option("--email <email>", "account email (prompted when omitted on a terminal)")
    .option("--password <password>", "password (prompted when omitted; flags are visible to other local users)")
    .action(login);
  program.command("logout").description("revoke the saved API token and delete the saved login").action(logout);
  program.command("whoami").description("show the signed-in account").action(whoami);
}
