// Custom domains: host names the router sends to an app's web processes. Adding one makes a pending claim; the router
// serves it (and may get a certificate for it) only once the app's team proved control of the name with a DNS TXT
// record (verification.ts). Any number of apps may claim a name while pending; the first to verify holds it, the
// other claims are dropped, and a verified name belongs to one app on the whole instance. The platform's own
// namespace (APP.BERTH_DOMAIN) is never available.
import { Prisma } from "@prisma/client";
import type { Actor, Services } from "../context.ts";
import type { Config } from "../config.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { MAX_HOSTNAME, hostnameProblem, isUnder, normalizeHostname } from "./hostname.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { wantsTls } from "../router/routes.ts";
import { CLAIM_TTL_MS, challengeName, lookupTxt, newVerificationToken } from "./verification.ts";

/** Custom domains per app. */
export const MAX_DOMAINS = 100;

const TAKEN = (hostname: string) => errors.conflict(`${hostname} already belongs to another app`);

interface DomainRow {
  id: string;
  hostname: string;
  verificationToken: string;
  verifiedAt: Date | null;
  expiresAt: Date | null;
  createdAt: Date;
}

/** Claims that still count: verified, or pending and not yet lapsed. */
const live = (now: Date) => ({ OR: [{ verifiedAt: { not: null } }, { expiresAt: { gt: now } }] });
const isLive = (d: DomainRow, now: Date) => d.verifiedAt !== null || (d.expiresAt?.getTime() ?? 0) > now.getTime();

/** Whether the router serves `hostname` over HTTPS (with its http:// requests redirected) and the URL to open. */
export function domainUrl(config: Pick<Config, "httpsPort" | "routerPort">, hostname: string) {
  // The same rule the router applies when it builds its certificate list, so the dashboard cannot promise more.
  if (config.httpsPort > 0 && wantsTls(hostname)) {
    return { https: true, url: `https://${hostname}${config.httpsPort === 443 ? "" : `:${config.httpsPort}`}/` };
  }
  return { https: false, url: `http://${hostname}${config.routerPort === 80 ? "" : `:${config.routerPort}`}/` };
}

function view(d: DomainRow, appName: string, config: Config) {
  return {
    hostname: d.hostname,
    status: d.verifiedAt ? ("verified" as const) : ("pending" as const),
    cname: `${appName}.${normalizeHostname(config.domain)}`,
    ...domainUrl(config, d.hostname),
    verification: { type: "TXT" as const, name: challengeName(d.hostname), value: d.verificationToken },
    verifiedAt: d.verifiedAt?.toISOString() ?? null,
    expiresAt: d.verifiedAt ? null : (d.expiresAt?.toISOString() ?? null),
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

/** The app's custom domains (verified and pending; lapsed claims are gone), sorted by name. */
export async function listDomains(s: Services, actor: Actor, appName: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.domain.findMany({
    where: { appId: app.id, ...live(new Date()) },
    orderBy: { hostname: "asc" },
  });
  return rows.map((d) => view(d, app.name, s.config));
}

/**
 * Claims a host name for the app: a pending domain with a fresh verification token, not routed until verified. 409 if
 * this app has it already, or another app (never named) holds it verified; other apps' pending claims block nothing.
 */
export async function addDomain(s: Services, actor: Actor, appName: string, rawHostname: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:update");
  const hostname = checkHostname(s.config, rawHostname);
  const now = new Date();
  try {
    const row = await s.db.$transaction(async (tx) => {
      // A lapsed claim (of any app) is as good as gone; removing it here keeps the unique (app, name) index honest.
      await tx.domain.deleteMany({ where: { hostname, verifiedAt: null, expiresAt: { lte: now } } });
      const mine = await tx.domain.findUnique({ where: { appId_hostname: { appId: app.id, hostname } } });
      if (mine) {
        throw errors.conflict(
          mine.verifiedAt
            ? `${hostname} is already a domain of ${app.name}`
            : `${hostname} is already claimed by ${app.name} and waits for verification`,
        );
      }
      if (await tx.domain.findUnique({ where: { verifiedHostname: hostname } })) throw TAKEN(hostname);
      if ((await tx.domain.count({ where: { appId: app.id, ...live(now) } })) >= MAX_DOMAINS) {
        throw errors.validation(`an app can have at most ${MAX_DOMAINS} custom domains`);
      }
      const d = await tx.domain.create({
        data: {
          hostname,
          appId: app.id,
          verificationToken: newVerificationToken(),
          expiresAt: new Date(now.getTime() + CLAIM_TTL_MS),
        },
      });
      await recordAudit(tx, actor, {
        teamId: app.teamId,
        appName: app.name,
        action: "domain.add",
        target: hostname,
        data: { hostname },
      });
      return d;
    });
    return view(row, app.name, s.config);
  } catch (err) {
    // Two adds of the same name to one app racing: the unique index decides, the loser gets the answer above.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002") {
      throw errors.conflict(`${hostname} is already claimed by ${app.name}`);
    }
    throw err;
  }
}

/**
 * Verifies the app's claim on a host name: the TXT record `_berth-challenge.HOST` must carry this claim's token. On
 * success the name is routed to the app (and may get a certificate), and every other app's pending claim on it is
 * dropped (recorded in those teams' audit logs as a system event that names no one). Verifying a verified domain
 * changes nothing. 422 when the record is missing or carries another value; 409 when another app verified first.
 */
export async function verifyDomain(s: Services, actor: Actor, appName: string, rawHostname: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:update");
  const hostname = normalizeHostname(rawHostname);
  const row = await s.db.domain.findUnique({ where: { appId_hostname: { appId: app.id, hostname } } });
  if (!row || !isLive(row, new Date())) throw errors.notFound(`domain ${hostname} of app '${app.name}'`);
  if (row.verifiedAt) return view(row, app.name, s.config);

  const name = challengeName(hostname);
  // DNS names end at 253 characters: a hostname within 17 of that has no place for its record (docs/router.md).
  if (name.length > MAX_HOSTNAME) {
    throw errors.validation(`${hostname} is too long to verify: ${name} would exceed ${MAX_HOSTNAME} characters`);
  }
  const values = await lookupTxt(s.config.dnsResolvers, name);
  if (!values.includes(row.verificationToken)) {
    throw errors.validation(
      values.length === 0
        ? `no TXT record found at ${name}; publish one with the value ${row.verificationToken} (DNS changes can take a while to show)`
        : `the TXT records at ${name} do not include ${row.verificationToken} (DNS changes can take a while to show)`,
    );
  }
  try {
    const verified = await s.db.$transaction(async (tx) => {
      const now = new Date();
      const holder = await tx.domain.findUnique({ where: { verifiedHostname: hostname } });
      if (holder && holder.id !== row.id) throw TAKEN(hostname);
      const n = await tx.domain.updateMany({
        where: { id: row.id, verifiedAt: null },
        data: { verifiedAt: now, verifiedHostname: hostname, expiresAt: null },
      });
      if (n.count !== 1) throw errors.notFound(`domain ${hostname} of app '${app.name}'`);
      const others = await tx.domain.findMany({
        where: { hostname, id: { not: row.id }, verifiedAt: null },
        include: { app: { select: { name: true, teamId: true } } },
      });
      await tx.domain.deleteMany({ where: { id: { in: others.map((o) => o.id) } } });
      for (const o of others) {
        await recordAudit(tx, null, {
          teamId: o.app.teamId,
          appName: o.app.name,
          action: "domain.drop",
          target: hostname,
          data: { hostname, reason: "another app proved control of the name first" },
        });
      }
      await recordAudit(tx, actor, {
        teamId: app.teamId,
        appName: app.name,
        action: "domain.verify",
        target: hostname,
        data: { hostname },
      });
      return tx.domain.findUniqueOrThrow({ where: { id: row.id } });
    });
    kickScheduler(s);
    return view(verified, app.name, s.config);
  } catch (err) {
    // Two apps verifying one name at once: the unique index on verifiedHostname lets one win.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002") throw TAKEN(hostname);
    throw err;
  }
}

/** Detaches a host name (verified or pending) from the app; 404 if this app does not have it (whether or not another app does). */
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

/** Deletes pending claims past their expiry (called periodically; lapsed claims are already ignored everywhere). */
export async function pruneExpiredDomainClaims(s: Services): Promise<number> {
  const n = await s.db.domain.deleteMany({ where: { verifiedAt: null, expiresAt: { lte: new Date() } } });
  return n.count;
}
