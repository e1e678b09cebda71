// `berth addons`, `addons:create`, `addons:info`, `addons:destroy`: managed services of an app (docs/addons.md).
// Credentials are never printed: the app gets them in its config var (DATABASE_URL, REDIS_URL).
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { formatDate, printJson, println, printTable } from "../output.ts";
import { authedClient } from "../session.ts";
import { formatSizeMb } from "./volumes.ts";

interface Addon {
  name: string;
  kind: string;
  plan: string;
  version: string;
  state: string;
  configVar: string;
  failReason: string | null;
  createdAt: string;
}

interface AddonInfo extends Addon {
  memoryMb: number;
  sizeMb: number;
  usedBytes: number | null;
  node: string | null;
  running: boolean;
  /** Older servers do not send the live fields. */
  maxConnections?: number;
  connections?: number | null;
  dataBytes?: number | null;
}

const mib = (bytes: number | null | undefined) =>
  bytes === null || bytes === undefined ? "unknown" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

interface AppOpts {
  json?: boolean;
  app?: string;
}

const ADDON_NAME = /^[a-z][a-z0-9-]{1,29}$/;
/** Kinds and plans the platform offers (the server checks them too). */
const KINDS = ["postgres", "redis"];
const PLANS = ["small", "standard"];
/** How long `addons:create` waits for the add-on to become available. */
const WAIT_MS = 10 * 60 * 1000;

function checkName(raw: string): string {
  if (!ADDON_NAME.test(raw)) throw usageError(`invalid add-on name ${JSON.stringify(raw)}, like postgres-1a2b3c4d`);
  return raw;
}

async function list(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<Addon[]>(`/apps/${seg(app)}/addons`);
  if (opts.json) return printJson(body);
  printTable(
    ["NAME", "KIND", "PLAN", "VERSION", "STATE", "VAR", "CREATED"],
    body.map((a) => [a.name, a.kind, a.plan, a.version, a.state, a.configVar, formatDate(a.createdAt)]),
    `${app} has no add-ons; create one with \`berth addons:create postgres -a ${app}\`.`,
  );
}

async function create(kind: string, opts: AppOpts & { plan?: string; wait?: boolean }): Promise<void> {
  if (!KINDS.includes(kind))
    throw usageError(`unknown add-on kind ${JSON.stringify(kind)}; kinds: ${KINDS.join(", ")}`);
  if (opts.plan !== undefined && !PLANS.includes(opts.plan))
    throw usageError(`unknown plan ${JSON.stringify(opts.plan)}; plans: ${PLANS.join(", ")}`);
  const app = await resolveApp(opts.app);
  const client = authedClient();
  const { body } = await client.post<Addon>(`/apps/${seg(app)}/addons`, {
    kind,
    ...(opts.plan ? { plan: opts.plan } : {}),
  });
  if (opts.wait === false) {
    if (opts.json) return printJson(body);
    println(
      `Creating ${body.name} (${body.kind} ${body.version}, plan ${body.plan}) for ${app}; see \`berth addons:info ${body.name} -a ${app}\`.`,
    );
    return;
  }
  if (!opts.json) println(`Creating ${body.name} (${body.kind} ${body.version}, plan ${body.plan}) for ${app}...`);
  const deadline = Date.now() + WAIT_MS;
  let current: Addon = body;
  while (current.state === "provisioning") {
    if (Date.now() > deadline)
      throw new Error(`${body.name} is still provisioning; see \`berth addons:info ${body.name} -a ${app}\``);
    await new Promise((r) => setTimeout(r, 500));
    current = (await client.get<Addon>(`/apps/${seg(app)}/addons/${seg(body.name)}`)).body;
  }
  if (opts.json) return printJson(current);
  if (current.state !== "available") throw new Error(`${body.name} failed: ${current.failReason ?? current.state}`);
  println(`${body.name} is available; ${app} has ${current.configVar} (a new release rolls out).`);
}

async function info(name: string, opts: AppOpts): Promise<void> {
  checkName(name);
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<AddonInfo>(`/apps/${seg(app)}/addons/${seg(name)}`);
  if (opts.json) return printJson(body);
  const used = mib(body.usedBytes);
  const conns = body.connections === null || body.connections === undefined ? "unknown" : String(body.connections);
  println(`=== ${body.name} (${app})`);
  println(`Kind:     ${body.kind} ${body.version} (pinned)`);
  println(`Plan:     ${body.plan} (memory ${formatSizeMb(body.memoryMb)})`);
  println(`State:    ${body.state}${body.failReason ? ` (${body.failReason})` : ""}${body.running ? ", running" : ""}`);
  println(`Size:     ${formatSizeMb(body.sizeMb)} (used: ${used})`);
  println(`Data:     ${mib(body.dataBytes)}${body.kind === "redis" ? " (in memory)" : ""}`);
  println(`Conns:    ${conns}${body.maxConnections ? ` of ${body.maxConnections}` : ""}`);
  println(`Node:     ${body.node ?? "- (not placed yet)"}`);
  println(`Var:      ${body.configVar}`);
  println(`Created:  ${formatDate(body.createdAt)}`);
}

interface Attachment {
  addon: string;
  kind: string;
  owner: string;
  configVar: string;
  createdAt: string;
}

async function attachments(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<Attachment[]>(`/apps/${seg(app)}/attachments`);
  if (opts.json) return printJson(body);
  printTable(
    ["ADD-ON", "KIND", "OWNER", "VAR", "ATTACHED"],
    body.map((a) => [a.addon, a.kind, a.owner, a.configVar, formatDate(a.createdAt)]),
    `${app} has no add-ons of other apps attached.`,
  );
}

async function attach(name: string, opts: AppOpts & { as?: string }): Promise<void> {
  checkName(name);
  if (opts.as !== undefined && !/^[A-Z][A-Z0-9_]{0,63}$/.test(opts.as))
    throw usageError(`invalid config var name ${JSON.stringify(opts.as)}, like DATABASE_URL`);
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().post<Attachment>(`/apps/${seg(app)}/attachments`, {
    addon: name,
    ...(opts.as ? { as: opts.as } : {}),
  });
  if (opts.json) return printJson(body);
  println(`Attached ${body.addon} (of ${body.owner}) to ${app} as ${body.configVar} (a new release rolls out).`);
}

async function detach(name: string, opts: AppOpts): Promise<void> {
  checkName(name);
  const app = await resolveApp(opts.app);
  await authedClient().delete(`/apps/${seg(app)}/attachments/${seg(name)}`);
  if (opts.json) return printJson({ app, addon: name, detached: true });
  println(`Detached ${name} from ${app}.`);
}

async function destroy(name: string, opts: AppOpts & { confirm?: string }): Promise<void> {
  checkName(name);
  if (opts.confirm !== name)
    throw usageError(`refusing to destroy add-on ${name}: this deletes its data; pass --confirm ${name} to proceed`);
  const app = await resolveApp(opts.app);
  await authedClient().delete(`/apps/${seg(app)}/addons/${seg(name)}`);
  if (opts.json) return printJson({ app, addon: name, destroyed: true });
  println(`Destroyed add-on ${name} of ${app} and its data.`);
}

/** Registers the addons topic. */
export function registerAddonCommands(program: Command): void {
  const appOpt = ["-a, --app <app>", "app name (default: from git remote `berth`)"] as const;
  program
    .command("addons")
    .description("list an app's add-ons (managed services)")
    .option(...appOpt)
    .action(list);
  program
    .command("addons:create")
    .description(
      "provision managed PostgreSQL (DATABASE_URL) or Redis (REDIS_URL, persistent) on its own volume (members and up)",
    )
    .argument("<kind>", `add-on kind: ${KINDS.join(", ")}`)
    .option(
      "--plan <plan>",
      `plan: ${PLANS.join(", ")} (postgres small: 512M memory, 1G disk, standard: 1G, 4G; redis small: 256M, 512M, standard: 1G, 2G)`,
    )
    .option("--no-wait", "return at once instead of waiting until it is available")
    .option(...appOpt)
    .action(create);
  program
    .command("addons:info")
    .description("show an add-on's plan, pinned version, state, size and node")
    .argument("<name>", "add-on name, like postgres-1a2b3c4d")
    .option(...appOpt)
    .action(info);
  program
    .command("addons:attachments")
    .description("list add-ons of other apps of the team attached to this app")
    .option(...appOpt)
    .action(attachments);
  program
    .command("addons:attach")
    .description("attach an add-on of another app of the same team to this app (members and up; one release)")
    .argument("<name>", "add-on name, like postgres-1a2b3c4d")
    .option("--as <var>", "config var name for this app (default: DATABASE_URL / REDIS_URL)")
    .option(...appOpt)
    .action(attach);
  program
    .command("addons:detach")
    .description("detach an attached add-on from this app: its config var goes (members and up; one release)")
    .argument("<name>", "add-on name")
    .option(...appOpt)
    .action(detach);
  program
    .command("addons:destroy")
    .description("destroy an add-on and its data, and unset its config var (members and up)")
    .argument("<name>", "add-on name")
    .option("--confirm <name>", "the add-on name again, to confirm")
    .option(...appOpt)
    .action(destroy);
}
