import { describe, expect, it } from "vitest";
import {
  dummyPasswordHash,
  hashPassword,
  hashToken,
  looksLikeToken,
  newToken,
  verifyPassword,
  type TokenKind,
} from "./secrets.ts";
import { csrfMatches } from "./sessions.ts";

describe("password hashing (scrypt)", () => {
  it("stores scrypt$N$r$p$salt$hash with a 16-byte salt and a 32-byte key", async () => {
    const stored = await hashPassword("correct-horse-battery");
    const parts = stored.split("$");
    expect(parts).toHaveLength(6);
    expect(parts.slice(0, 4)).toEqual(["scrypt", "32768", "8", "1"]);
    expect(Buffer.from(parts[4] ?? "", "base64url")).toHaveLength(16);
    expect(Buffer.from(parts[5] ?? "", "base64url")).toHaveLength(32);
    expect(stored).not.toContain("correct-horse-battery");
  });

  it("verifies the right password and rejects wrong ones", async () => {
    const stored = await hashPassword("correct-horse-battery");
    expect(await verifyPassword("correct-horse-battery", stored)).toBe(true);
    expect(await verifyPassword("correct-horse-batterY", stored)).toBe(false);
    expect(await verifyPassword("correct-horse-battery ", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("salts every hash differently", async () => {
    const [a, b] = await Promise.all([hashPassword("same-password-1"), hashPassword("same-password-1")]);
    expect(a).not.toBe(b);
    expect(a.split("$")[4]).not.toBe(b.split("$")[4]);
    expect(await verifyPassword("same-password-1", a)).toBe(true);
    expect(await verifyPassword("same-password-1", b)).toBe(true);
  });

  it("treats malformed or tampered stored hashes as no match (never true, never a throw)", async () => {
    const stored = await hashPassword("correct-horse-battery");
    const [, n, r, p, salt, hash] = stored.split("$");
    const bad = [
      "",
      "plaintext",
      stored.replace(/^scrypt/, "bcrypt"),
      stored.split("$").slice(0, 5).join("$"),
      `scrypt$${n}$${r}$${p}$${salt}$`, // empty hash: a zero-length key would "match" anything
      `scrypt$${n}$${r}$${p}$${salt}$${(hash ?? "").slice(0, 4)}`,
      `scrypt$abc$${r}$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$${hash}$extra`,
    ];
    for (const s of bad) {
      await expect(verifyPassword("correct-horse-battery", s), s).resolves.toBe(false);
      await expect(verifyPassword("anything", s), s).resolves.toBe(false);
    }
  });

  it("keeps one dummy hash for unknown accounts, which matches no password", async () => {
    const a = await dummyPasswordHash();
    expect(await dummyPasswordHash()).toBe(a);
    expect(a.startsWith("scrypt$")).toBe(true);
    expect(await verifyPassword("", a)).toBe(false);
  });
});

describe("opaque tokens", () => {
  const kinds: [TokenKind, string][] = [
    ["api", "berth_"],
    ["session", "bs_"],
    ["invite", "bi_"],
    ["node", "bn_"],
  ];

  it.each(kinds)("%s tokens carry the %s prefix and 256 random bits", (kind, prefix) => {
    const t = newToken(kind);
    expect(t.startsWith(prefix)).toBe(true);
    expect(Buffer.from(t.slice(prefix.length), "base64url")).toHaveLength(32);
    expect(newToken(kind)).not.toBe(t);
    expect(looksLikeToken(kind, t)).toBe(true);
  });

  it("does not accept a token of one kind as another kind", () => {
    for (const [kind] of kinds) {
      const t = newToken(kind);
      for (const [other] of kinds)
        if (other !== kind) expect(looksLikeToken(other, t), `${kind} as ${other}`).toBe(false);
    }
  });

  it("rejects token-shaped junk before any database lookup", () => {
    const good = newToken("api");
    const bad = [
      "",
      "berth_",
      "berth_short",
      `Berth_${good.slice(6)}`,
      `${good}$`,
      `${good} `,
      `${good.slice(0, 20)}\n${good.slice(20)}`,
      `${good}'; drop table users; --`,
      `berth_${"a".repeat(100)}`,
      good.slice(6),
    ];
    for (const t of bad) expect(looksLikeToken("api", t), JSON.stringify(t)).toBe(false);
  });

  it("hashes tokens with SHA-256 (hex), deterministically", () => {
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const t = newToken("api");
    expect(hashToken(t)).toBe(hashToken(t));
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(t)).not.toBe(hashToken(newToken("api")));
    expect(hashToken(t)).not.toContain(t.slice(6));
  });
});

describe("CSRF token comparison", () => {
  it("matches only the exact token", () => {
    expect(csrfMatches("abcdef", "abcdef")).toBe(true);
    expect(csrfMatches("abcdef", "abcdeg")).toBe(false);
    expect(csrfMatches("abcdef", "abcde")).toBe(false);
    expect(csrfMatches("abcdef", "abcdefg")).toBe(false);
    expect(csrfMatches("abcdef", "")).toBe(false);
    expect(csrfMatches("abcdef", undefined)).toBe(false);
  });
});
