// Token operations shared by `login`, `logout` and `tokens:*`: naming and revoking by secret.
import os from "node:os";
import { seg, type BerthApi } from "./api-client.ts";
import type { Token } from "./api-types.ts";

// The server stores the first 12 characters of every token for display; that is how a secret finds its id.
const PREFIX_LENGTH = 12;

/** The display prefix the server keeps for a token secret. */
export function tokenPrefix(secret: string): string {
  return secret.slice(0, PREFIX_LENGTH);
}

/** A token name like `cli@HOST`, reduced to the characters the API accepts (letters, digits, space, . _ - @ :). */
export function defaultTokenName(label = "cli"): string {
  const host = os.hostname().replace(/[^\w .@:-]/g, "-") || "unknown";
  return `${label}@${host}`.slice(0, 60);
}

/** Finds the live token with this secret's prefix and revokes it; returns it, or null if none is live. */
export async function revokeTokenBySecret(api: BerthApi, secret: string): Promise<Token | null> {
  const { body: tokens } = await api.get<Token[]>("/tokens");
  const mine = tokens.find((t) => t.prefix === tokenPrefix(secret) && !t.revokedAt);
  if (!mine) return null;
  return (await api.delete<Token>(`/tokens/${seg(mine.id)}`)).body;
}
