// Platform stack recipes: what each stack image is made of, and the hash that names (and caches) it.
// Pure: no I/O here, so the hashing and the mirror lookup can be unit tested.
import { createHash } from "node:crypto";

/**
 * Version of Berth's own stack-building steps (the code in stacks.ts). Bump it when those steps change the
 * resulting image, so every cached stack is rebuilt.
 */
export const STACK_SCRIPT_VERSION = 1;

/** The uid/gid app processes (and install/build steps) run as inside stack images. */
export const APP_UID = 1000;
export const APP_USER = "app";

export type StackName = "node" | "static" | "postgres" | "redis";

export type StackRecipe =
  | {
      name: StackName;
      type: "debian";
      suite: string;
      variant: "minbase";
      /** Installed by debootstrap (its resolver handles these simple dependency trees). */
      packages: string[];
      /** Installed afterwards with apt-get inside the new root (full dependency resolution; npm needs it). */
      aptPackages: string[];
      /** Tools the stack provides, for build planning (package managers). */
      tools: string[];
    }
  | {
      name: StackName;
      type: "busybox";
      /** sha256 of the busybox-static binary copied in; a new busybox means a new stack. */
      busyboxSha256: string;
      tools: string[];
    };

/** The Node.js stack: Debian bookworm (minbase) with Debian's nodejs and npm packages. Also serves Procfile-only apps. */
export const NODE_STACK: StackRecipe = {
  name: "node",
  type: "debian",
  suite: "bookworm",
  variant: "minbase",
  packages: ["ca-certificates", "nodejs"],
  aptPackages: ["npm"],
  tools: ["sh", "node", "npm"],
};

/**
 * The PostgreSQL add-on image: Debian bookworm (minbase) with Debian's postgresql-15 (server and client). Not an app
 * stack (no app is built on it): server/addons/ runs it as a managed container. Its major version is pinned here; a
 * new Debian point release comes with `stacks:rebuild`-style rebuilds, never a major upgrade.
 */
export const POSTGRES_STACK: StackRecipe = {
  name: "postgres",
  type: "debian",
  suite: "bookworm",
  variant: "minbase",
  packages: ["ca-certificates"],
  aptPackages: ["postgresql-15"],
  tools: ["sh", "postgres", "psql"],
};

/** The Redis add-on image: Debian bookworm (minbase) with Debian's redis-server (7.0). Like POSTGRES_STACK, not an app stack. */
export const REDIS_STACK: StackRecipe = {
  name: "redis",
  type: "debian",
  suite: "bookworm",
  variant: "minbase",
  packages: ["ca-certificates"],
  aptPackages: ["redis-server"],
  tools: ["sh", "redis-server", "redis-cli"],
};

/** The static-site stack: the host's busybox-static (httpd, sh) alone in an image. */
export function staticStack(busyboxSha256: string): StackRecipe {
  return { name: "static", type: "busybox", busyboxSha256, tools: ["sh", "httpd"] };
}

/** Stable JSON: object keys sorted, so the hash does not depend on property order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Hash of a recipe plus the stack script version: 16 hex digits, used as the image tag and cache key. */
export function recipeHash(r: StackRecipe, scriptVersion = STACK_SCRIPT_VERSION): string {
  const sorted =
    r.type === "debian" ? { packages: [...r.packages].sort(), aptPackages: [...r.aptPackages].sort() } : {};
  return createHash("sha256")
    .update(canonical({ scriptVersion, recipe: { ...r, ...sorted } }))
    .digest("hex")
    .slice(0, 16);
}

/** Local image name of a stack: `berth-stack/<name>:<hash>`. */
export function stackImageName(r: StackRecipe): string {
  return `berth-stack/${r.name}:${recipeHash(r)}`;
}

const DEBIAN_SUITES = new Set([
  "buster",
  "bullseye",
  "bookworm",
  "trixie",
  "forky",
  "sid",
  "oldstable",
  "stable",
  "testing",
  "unstable",
]);

/**
 * The Debian archive URI from apt's sources (deb822 `.sources` files or one-line `.list` files), so the stack is
 * built from the mirror this machine already uses. Skips security/updates archives and non-http(s) URIs.
 * `files` are [name, content] pairs.
 */
export function debianMirrorFromSources(files: [string, string][]): string | null {
  const candidates: string[] = [];
  for (const [name, text] of files) {
    if (name.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const fields = new Map<string, string>();
        for (const line of stanza.split("\n")) {
          const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
        }
        const list = (k: string) => (fields.get(k) ?? "").split(/\s+/).filter(Boolean);
        if (/^no$/i.test(fields.get("enabled") ?? "")) continue;
        if (!list("types").includes("deb")) continue;
        if (!list("suites").some((s) => DEBIAN_SUITES.has(s))) continue; // the main archive, not security/updates
        candidates.push(...list("uris"));
      }
    } else if (name.endsWith(".list") || name === "sources.list") {
      for (const raw of text.split("\n")) {
        const line = raw.replace(/#.*/, "").trim();
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m?.[1] && m[2] && DEBIAN_SUITES.has(m[2])) candidates.push(m[1]);
      }
    }
  }
  return candidates.find((u) => /^https?:\/\/[^\s]+$/.test(u)) ?? null;
}
