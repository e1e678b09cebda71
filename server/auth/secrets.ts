// Password hashing (scrypt, memory-hard) and opaque-token helpers (random, stored as SHA-256).
import crypto from "node:crypto";
import { promisify } from "node:util";

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

// N=2^15, r=8 -> 32 MiB per hash: memory-hard, ~50-100 ms here.
const PARAMS = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEYLEN = 32;

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, KEYLEN, PARAMS);
  return ["scrypt", PARAMS.N, PARAMS.r, PARAMS.p, salt.toString("base64url"), hash.toString("base64url")].join("$");
}

/** Verifies a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, n, r, p, saltB64, hashB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hashB64, "base64url");
  // An empty (or truncated) hash would make scrypt return an equally short key and match any password.
  if (expected.length < 16) return false;
  let actual: Buffer;
  try {
    actual = await scrypt(password, Buffer.from(saltB64, "base64url"), expected.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: PARAMS.maxmem,
    });
  } catch {
    return false; // corrupt parameters: no match rather than a 500
  }
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

/** A hash to verify against when the account does not exist, so timing does not reveal which emails exist. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomBytes(16).toString("hex"));
  return dummyHash;
}

export type TokenKind = "api" | "session" | "invite" | "node";
const PREFIX: Record<TokenKind, string> = { api: "berth_", session: "bs_", invite: "bi_", node: "bn_" };

/** Creates a new opaque secret with a kind prefix (so leaked tokens are recognisable). */
export function newToken(kind: TokenKind): string {
  return PREFIX[kind] + crypto.randomBytes(32).toString("base64url");
}

/** SHA-256 of a token: tokens carry 256 bits of entropy, so a fast hash is enough (unlike passwords). */
export function hashToken(token: string): string {
  return crypto.createHash("sha256").update(token).digest("hex");
}

/** True if `token` has the shape of a token of `kind` (cheap pre-check before a database lookup). */
export function looksLikeToken(kind: TokenKind, token: string): boolean {
  return token.startsWith(PREFIX[kind]) && /^[A-Za-z0-9_-]{20,100}$/.test(token);
}
