// Proof of control of a custom domain: a TXT record at `_berth-challenge.HOST` carrying the claim's random token,
// looked up through the configured resolver (BERTH_DNS_RESOLVER) or the system's.
import crypto from "node:crypto";
import { Resolver } from "node:dns/promises";
import { BerthError } from "../errors.ts";

/** The label the TXT record lives under. */
export const CHALLENGE_LABEL = "_berth-challenge";

/** How long an unverified claim lives (docs/router.md); it blocks nobody meanwhile. */
export const CLAIM_TTL_MS = 7 * 24 * 3600 * 1000;

/** Per lookup try, and tries: a verification answers within about 10 seconds even when the resolver is silent. */
const LOOKUP_TIMEOUT_MS = 2500;
const LOOKUP_TRIES = 2;

/** Where the TXT record of `hostname` must be published. */
export function challengeName(hostname: string): string {
  return `${CHALLENGE_LABEL}.${hostname}`;
}

/** A fresh token for a claim (128 random bits; unique per claim, so one claimant's record proves nothing for another). */
export function newVerificationToken(): string {
  return `berth-verify-${crypto.randomBytes(16).toString("hex")}`;
}

/**
 * The TXT values published at `name` (each record's character strings joined, as DNS splits long values), or [] when
 * the name or the record does not exist. `servers` empty = the system resolver. A resolver that cannot be reached or
 * fails is a 503: the claim is neither verified nor refused on a DNS outage.
 */
export async function lookupTxt(servers: readonly string[], name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: LOOKUP_TIMEOUT_MS, tries: LOOKUP_TRIES });
  if (servers.length > 0) resolver.setServers(servers);
  try {
    const records = await resolver.resolveTxt(name);
    return records.map((chunks) => chunks.join(""));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code === "ENOTFOUND" || code === "ENODATA") return [];
    throw new BerthError(
      "unavailable",
      `could not look up the TXT record ${name} (${code || "DNS error"}); try again later`,
      { cause: err },
    );
  }
}
