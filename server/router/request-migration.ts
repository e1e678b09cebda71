// Caddy 2.6 opens new SO_REUSEPORT listeners on every config load and closes the old ones. A connection the kernel
// already queued on an old listener (accepted by TCP, not yet by Caddy) is reset when that socket closes: the client
// sees ECONNRESET on a request that never reached anyone (bench/router-reload.ts: about 25 resets per 100 loads at
// 400 new connections/s). With net.ipv4.tcp_migrate_req=1 (Linux 5.14+, per network namespace) the kernel moves
// those connections to a listener of the same port that stays open instead: 0 resets in the same run. The setting
// only changes what happens to such queued connections, so the router turns it on for its network namespace.
import fs from "node:fs/promises";
import type { Logger } from "../logger.ts";

const MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req";

/** Turns on request migration between reuseport listeners; logs (once) when it cannot (not root, old kernel). */
export async function enableRequestMigration(log: Logger, file = MIGRATE_REQ): Promise<boolean> {
  try {
    if ((await fs.readFile(file, "utf8")).trim() === "1") return true;
    await fs.writeFile(file, "1");
    log.info("enabled net.ipv4.tcp_migrate_req so route changes do not reset queued connections");
    return true;
  } catch (err) {
    log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      "cannot enable net.ipv4.tcp_migrate_req (needs root and Linux 5.14+): a request arriving during a route change may be reset",
    );
    return false;
  }
}
