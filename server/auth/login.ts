// Password sign-in with failed-attempt limits per account and per IP (persisted, so restarts do not reset them).
import type { Services } from "../context.ts";
import { errors } from "../errors.ts";
import { dummyPasswordHash, verifyPassword } from "./secrets.ts";

const HOUR_MS = 3600 * 1000;

/** Checks credentials; throws 401 on a mismatch and 429 once either failure limit is reached. */
export async function checkCredentials(s: Services, email: string, password: string, ip: string) {
  const since = new Date(Date.now() - HOUR_MS);
  const [byAccount, byIp] = await Promise.all([
    s.db.loginFailure.count({ where: { email, createdAt: { gt: since } } }),
    s.db.loginFailure.count({ where: { ip, createdAt: { gt: since } } }),
  ]);
  if (byAccount >= s.config.loginAccountLimitPerHour || byIp >= s.config.loginIpLimitPerHour) {
    throw errors.rateLimited("too many failed sign-in attempts; try again later");
  }
  const user = await s.db.user.findUnique({ where: { email } });
  const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
  if (!user || !ok) {
    await s.db.loginFailure.create({ data: { email, ip } });
    s.log.info({ component: "auth", ip }, "failed sign-in");
    throw errors.unauthorized("invalid email or password");
  }
  return user;
}

/** Drops failure records older than the window (called periodically). */
export async function pruneLoginFailures(s: Services): Promise<void> {
  await s.db.loginFailure.deleteMany({ where: { createdAt: { lt: new Date(Date.now() - HOUR_MS) } } });
}
