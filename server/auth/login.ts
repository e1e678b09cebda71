// Password sign-in with failed-attempt limits per account and per IP (persisted, so restarts do not reset them).
import crypto from "node:crypto";
import type { Services } from "../context.ts";
import type { Db } from "../db/client.ts";
import { errors } from "../errors.ts";
import { dummyPasswordHash, verifyPassword } from "./secrets.ts";

const HOUR_MS = 3600 * 1000;

/**
 * Records one sign-in attempt as a LoginFailure row, but only while both the account and the IP are under their
 * limits; returns the row's id, or null when a limit is reached. Count and insert are ONE statement, so however many
 * attempts arrive at once, at most `limit` of them get a row (SQLite runs a statement under the write lock; with
 * PostgreSQL this needs SERIALIZABLE or a lock on the email). Only attempts with a row may verify a password.
 */
async function reserveAttempt(
  db: Db,
  email: string,
  ip: string,
  limits: { account: number; ip: number },
): Promise<string | null> {
  const id = `lf_${crypto.randomBytes(12).toString("hex")}`;
  const now = new Date();
  const since = new Date(now.getTime() - HOUR_MS);
  const inserted = await db.$executeRaw`
    INSERT INTO "LoginFailure" ("id", "email", "ip", "createdAt")
    SELECT ${id}, ${email}, ${ip}, ${now}
    WHERE (SELECT COUNT(*) FROM "LoginFailure" WHERE "email" = ${email} AND "createdAt" > ${since}) < ${limits.account}
      AND (SELECT COUNT(*) FROM "LoginFailure" WHERE "ip" = ${ip} AND "createdAt" > ${since}) < ${limits.ip}`;
  return inserted === 1 ? id : null;
}

/** Checks credentials; throws 401 on a mismatch and 429 once either failure limit is reached. */
export async function checkCredentials(s: Services, email: string, password: string, ip: string) {
  // Counted before the (slow) password check: a burst of parallel guesses cannot all pass a count taken earlier.
  const attempt = await reserveAttempt(s.db, email, ip, {
    account: s.config.loginAccountLimitPerHour,
    ip: s.config.loginIpLimitPerHour,
  });
  if (!attempt) throw errors.rateLimited("too many failed sign-in attempts; try again later");
  const user = await s.db.user.findUnique({ where: { email } });
  const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
  if (!user || !ok) {
    // The reserved row stays: it is this failure's record.
    s.log.info({ component: "auth", ip }, "failed sign-in");
    throw errors.unauthorized("invalid email or password");
  }
  // A successful sign-in is not a failure: its reservation is given back.
  await s.db.loginFailure.delete({ where: { id: attempt } });
  return user;
}

/** Drops failure records older than the window (called periodically). */
export async function pruneLoginFailures(s: Services): Promise<void> {
  await s.db.loginFailure.deleteMany({ where: { createdAt: { lt: new Date(Date.now() - HOUR_MS) } } });
}
