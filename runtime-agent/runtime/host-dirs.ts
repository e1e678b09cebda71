// Host facts the backend checks once: directories user-namespaced runc must pass through, the open-files limit.
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { RuntimeError } from "./errors.ts";

/**
 * With user namespaces, runc (as container root, an unprivileged host id) resolves the rootfs and platform-file paths
 * below the run dir, so every directory above it must be searchable by others. Root-owned ones missing that bit get
 * it (search only: nothing becomes listable or readable); anything else is a configuration error.
 */
export async function ensureSearchable(dir: string, log: Logger): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = await fs.stat(d);
    if ((st.mode & 0o001) === 0) {
      if (st.uid !== 0)
        throw new RuntimeError(
          "invalid",
          `user namespaces need ${d} (above the run dir ${dir}) to be searchable by others (chmod o+x), ` +
            "or turn them off for this node (BERTH_USERNS=off)",
        );
      await fs.chmod(d, (st.mode & 0o7777) | 0o001);
      log.warn({ dir: d }, "made directory searchable (o+x) for user-namespaced containers");
    }
    if (d === "/") return;
  }
}

/** The agent's hard limit of open files (capped at 65,536): what containers get as RLIMIT_NOFILE. */
export async function nofileHardLimit(): Promise<number> {
  const limits = await fs.readFile("/proc/self/limits", "utf8").catch(() => "");
  const hard = Number(/^Max open files\s+\d+\s+(\d+)/m.exec(limits)?.[1]);
  return Number.isFinite(hard) && hard > 0 ? Math.min(hard, 65_536) : 1024;
}
