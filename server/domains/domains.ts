// Custom domains: host names the router sends to an app's web processes. One host name belongs to one app on the
// whole instance; the platform's own namespace (APP.BERTH_DOMAIN) is not available.
import { Prisma } from "@prisma/client";
import type { Actor, Services } from "../context.ts";
import type { Config } from "../config.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { hostnameProblem, isUnder, normalizeHostname } from "./hostname.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { wantsTls } from "../router/caddy-config.ts";

/** Custom domains per app. */
export const MAX_DOMAINS = 100;

const TAKEN = (hostname: string) => errors.conflict(`${hostname} already belongs to another app`);

/** Whether the router serves `hostname` over HTTPS (with its http:// requests redirected) and the URL to open. */
export function domainUrl(config: Pick<Config, "httpsPort" | "routerPort">, hostname: string) {
  // The same rule the router applies when it builds its certificate list, so the dashboard cannot promise more.
  if (config.httpsPort > 0 && wantsTls(hostname)) {
    return { https: true, url: `https://${hostname}${config.httpsPort === 443 ? "" : `:${config.httpsPort}`}/` };
  }
  return { https: false, url: `http://${hostname}${config.routerPort === 80 ? "" : `:${config.routerPort}`}/` };
}

function view(d: { hostname: string; createdAt: Date }, appName: string, config: Config) {
  return {
    hostname: d.hostname,
    cname: `${appName}.${normalizeHostname(config.domain)}`,
    ...domainUrl(config, d.hostname),
    createdAt: d.createdAt.toISOString(),
  };
}

/** Normalizes and checks a host name for use as a custom domain; a validation error says what is wrong. */
export function checkHostname(config: Config, raw: string): string {
  const hostname = normalizeHostname(raw);
  const problem = hostnameProblem(hostname);
  if (problem) throw errors.validation(problem);
  // `localhost` names always resolve to the machine itself (RFC 6761), and BERTH_DOMAIN is the platform's.
  if (isUnder(hostname, "localhost") || isUnder(hostname, config.domain)) {
    throw errors.validation(
      `${hostname} is in the platform's own namespace (${normalizeHostname(config.domain)}); use a domain you control`,
    );
  }
  if (config.publicUrl) {
    let host = "";
    try {
      host = new URL(config.publicUrl).hostname.toLowerCase();
    } catch {
      host = "";
    }
    if (host && hostname === host) throw errors.validation(`${hostname} is the platform's own address`);
  }
  return hostname;
}

/** The app's custom domains, sorted by name. */
export async function listDomains(s: Services, actor: Actor, appName: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.domain.findMany({ where: { appId: app.id }, orderBy: { hostname: "asc" } });
  return rows.map((d) => view(d, app.name, s.config));
}

/** Attaches a host name to the app; 409 if any app (this one or another, never named) already has it. */
export async function addDomain(s: Services, actor: Actor, appName: string, rawHostname: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:update");
  const hostname = checkHostname(s.config, rawHostname);
  try {
    const row = await s.db.$transaction(async (tx) => {
      const existing = await tx.domain.findUnique({ where: { hostname } });
      if (existing)
        throw existing.appId === app.id
          ? errors.conflict(`${hostname} is already a domain of ${app.name}`)
          : TAKEN(hostname);
      if ((await tx.domain.count({ where: { appId: app.id } })) >= MAX_DOMAINS) {
        throw errors.validation(`an app can have at most ${MAX_DOMAINS} custom domains`);
      }
      const d = await tx.domain.create({ data: { hostname, appId: app.id } });
      await recordAudit(tx, actor, {
        teamId: app.teamId,
        appName: app.name,
        action: "domain.add",
        target: hostname,
        data: { hostname },
      });
      return d;
    });
    kickScheduler(s);
    return view(row, app.name, s.config);
  } catch (err) {
    // Two adds of the same name racing: the unique index decides, the loser gets the same answer as above.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002") throw TAKEN(hostname);
    throw err;
  }
}

/** Detaches a host name from the app; 404 if this app does not have it (whether or not another app does). */
export async function removeDomain(s: Services, actor: Actor, appName: string, rawHostname: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:update");
  const hostname = normalizeHostname(rawHostname);
  await s.db.$transaction(async (tx) => {
    const n = await tx.domain.deleteMany({ where: { hostname, appId: app.id } });
    if (n.count === 0) throw errors.notFound(`domain ${hostname} of app '${app.name}'`);
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "domain.remove",
      target: hostname,
      data: { hostname },
    });
  });
  kickScheduler(s);
}
