// The container environment: a default PATH, then the image env, then the instance config vars, then PORT.
import { ENV_KEY_PATTERN } from "../protocol/names.ts";

/** PATH used when neither the image nor the instance sets one. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Merges image env (`K=V` entries), instance env and PORT into an OCI env array; drops invalid image entries. */
export function mergeEnv(imageEnv: readonly string[], env: Readonly<Record<string, string>>, port?: number): string[] {
  const merged = new Map<string, string>([["PATH", DEFAULT_PATH]]);
  for (const entry of imageEnv) {
    const eq = entry.indexOf("=");
    const key = eq > 0 ? entry.slice(0, eq) : "";
    if (ENV_KEY_PATTERN.test(key) && !entry.includes("\0")) merged.set(key, entry.slice(eq + 1));
  }
  for (const [key, value] of Object.entries(env)) {
    if (!ENV_KEY_PATTERN.test(key) || value.includes("\0")) throw new Error(`invalid env entry ${JSON.stringify(key)}`);
    merged.set(key, value);
  }
  // The platform owns PORT: the port mapping and health check depend on it.
  if (port !== undefined) merged.set("PORT", String(port));
  return [...merged].map(([k, v]) => `${k}=${v}`);
}
