// `berth domains`, `domains:add`, `domains:verify`, `domains:remove`: custom host names routed to an app once their
// owner proved control of them with a DNS TXT record.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { formatDate, printJson, println, printTable } from "../output.ts";
import { authedClient } from "../session.ts";
import type { Domain } from "../api-types.ts";

interface AppOpts {
  json?: boolean;
  app?: string;
}

/** A rough shape check so typos fail fast; the server does the real validation. */
function checkHost(raw: string): string {
  const host = raw
    .trim()
    .toLowerCase()
    .replace(/(?<!\.)\.$/, "");
  if (!host || host.length > 253 || /[\s/:@?#]/.test(host)) {
    throw usageError(`expected a hostname like www.example.com, got ${JSON.stringify(raw)}`);
  }
  return host;
}

/** The record to publish and the command to run next, for a pending domain. */
function printProof(d: Domain, app: string): void {
  println(`  ${d.verification.name}  TXT  "${d.verification.value}"`);
  println(
    `  then: berth domains:verify ${d.hostname} -a ${app}${d.expiresAt ? ` (before ${formatDate(d.expiresAt)})` : ""}`,
  );
}

async function list(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<Domain[]>(`/apps/${seg(app)}/domains`);
  if (opts.json) return printJson(body);
  printTable(
    ["HOSTNAME", "CNAME TARGET", "URL", "ADDED"],
    body.map((d) => [d.hostname, d.cname, d.url, formatDate(d.createdAt)]),
    `${app} has no custom domains; add one with \`berth domains:add HOSTNAME -a ${app}\`.`,
  );
  const pending = body.filter((d) => d.status === "pending");
  if (pending.length === 0) return;
  println("");
  println(`Pending verification (not routed until their owner publishes the TXT record and verifies):`);
  for (const d of pending) {
    println(`${d.hostname}`);
    printProof(d, app);
  }
}

async function add(host: string, opts: AppOpts): Promise<void> {
  const hostname = checkHost(host);
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().post<Domain>(`/apps/${seg(app)}/domains`, { hostname });
  if (opts.json) return printJson(body);
  println(`Added ${body.hostname} to ${app}.`);
  println(`It is routed once you prove you control it: publish this DNS record, then verify it.`);
  printProof(body, app);
  println(`Point a DNS CNAME record for ${body.hostname} to ${body.cname}.`);
  if (body.https) println(`Once verified and DNS points here, the router gets a certificate and serves ${body.url}`);
}

async function verify(host: string, opts: AppOpts): Promise<void> {
  const hostname = checkHost(host);
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().post<Domain>(`/apps/${seg(app)}/domains/${seg(hostname)}/verify`, {});
  if (opts.json) return printJson(body);
  println(`Verified ${body.hostname}: it routes to ${app} at ${body.url}`);
}

async function remove(host: string, opts: AppOpts): Promise<void> {
  const hostname = checkHost(host);
  const app = await resolveApp(opts.app);
  await authedClient().delete(`/apps/${seg(app)}/domains/${seg(hostname)}`);
  if (opts.json) return printJson({ app, hostname, removed: true });
  println(`Removed ${hostname} from ${app}.`);
}

/** Registers the domains topic. */
export function registerDomainCommands(program: Command): void {
  program
    .command("domains")
    .description("list an app's custom domains")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(list);
  program
    .command("domains:add")
    .description("claim a custom hostname for an app; routed once verified (admins and owners)")
    .argument("<hostname>", "like www.example.com")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(add);
  program
    .command("domains:verify")
    .description("check a pending domain's DNS TXT record (_berth-challenge.HOSTNAME) and route it (admins and owners)")
    .argument("<hostname>", "like www.example.com")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(verify);
  program
    .command("domains:remove")
    .description("stop routing a custom hostname to an app (admins and owners)")
    .argument("<hostname>", "like www.example.com")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(remove);
}
