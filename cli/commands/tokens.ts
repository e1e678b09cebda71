// `berth tokens`, `tokens:create`, `tokens:revoke`: personal API tokens for scripts, CI and git.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import type { CreatedToken, Token } from "../api-types.ts";
import { usageError } from "../errors.ts";
import { formatDate, note, printJson, println, printTable } from "../output.ts";
import { authedClient, resolveTarget } from "../session.ts";
import { defaultTokenName, tokenPrefix } from "../token-ops.ts";

const status = (t: Token) =>
  t.revokedAt ? "revoked" : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? "expired" : "active";

async function list(opts: { json?: boolean }): Promise<void> {
  const { body } = await authedClient().get<Token[]>("/tokens");
  if (opts.json) return printJson(body);
  printTable(
    ["ID", "NAME", "PREFIX", "STATUS", "CREATED", "LAST USED", "EXPIRES"],
    body.map((t) => [
      t.id,
      t.name,
      t.prefix,
      status(t),
      formatDate(t.createdAt),
      formatDate(t.lastUsedAt),
      formatDate(t.expiresAt),
    ]),
    "No API tokens.",
  );
}

/** Parses --expires-in-days as a whole number of days in the range the API accepts. */
function parseDays(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 3650)
    throw usageError("--expires-in-days must be a whole number from 1 to 3650");
  return n;
}

async function create(opts: { json?: boolean; name?: string; expiresInDays?: string }): Promise<void> {
  const body: { name: string; expiresInDays?: number } = { name: opts.name ?? defaultTokenName("token") };
  const days = parseDays(opts.expiresInDays);
  if (days !== undefined) body.expiresInDays = days;
  const { body: created } = await authedClient().post<CreatedToken>("/tokens", body);
  if (opts.json) return printJson(created);
  // The secret alone goes to stdout so `TOKEN=$(berth tokens:create)` works; the rest is for the reader.
  note(
    `Created token ${created.name} (id ${created.id}${created.expiresAt ? `, expires ${formatDate(created.expiresAt)} UTC` : ""}).`,
  );
  note("Copy it now: it will not be shown again.");
  println(created.token);
}

async function revoke(id: string, opts: { json?: boolean }): Promise<void> {
  const { body } = await authedClient().delete<Token>(`/tokens/${seg(id)}`);
  if (opts.json) return printJson(body);
  println(`Revoked token ${body.name} (${body.id}).`);
  const current = resolveTarget().token;
  if (current && tokenPrefix(current) === body.prefix)
    note("That was the token this CLI uses; run `berth login` again.");
}

/** Registers the tokens topic. */
export function registerTokenCommands(program: Command): void {
  program.command("tokens").description("list your API tokens").action(list);
  program
    .command("tokens:create")
    .description("create an API token (the secret is shown once)")
    .option("--name <name>", "a name to recognise it by")
    .option("--expires-in-days <days>", "expire after this many days (default: never)")
    .action(create);
  program
    .command("tokens:revoke")
    .description("revoke an API token at once")
    .argument("<id>", "token id (see `berth tokens`)")
    .action(revoke);
}
