// The volume rules of the API (name, mount path, size), for the dashboard's create form and its size parsing. Plain
// TypeScript with no imports, like shared/names.ts. server/volumes and the agent's protocol stay the authority;
// lib/volume-form.test.ts checks that these agree with them.

/** Volume names: a lowercase letter, then lowercase letters, digits, dashes (not last); at most 30 characters. */
export const VOLUME_NAME_PATTERN = /^[a-z][a-z0-9-]{0,29}$/;

/** Size limits of one volume, in MiB. */
export const VOLUME_SIZE_MB = { min: 64, max: 1024 * 1024 } as const;

/** An absolute path of 1-16 components of letters, digits, `.`, `_`, `-`. */
const MOUNT_PATH_PATTERN = /^(?:\/[A-Za-z0-9._-]+){1,16}$/;
/** Paths the runtime owns inside a container: a volume never hides them. */
const RESERVED_MOUNT_PREFIXES = ["/proc", "/sys", "/dev", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"];

/** True if `p` is a mount path the agent accepts (as runtime-agent/protocol/names.ts isValidMountPath). */
export function isValidVolumeMountPath(p: string): boolean {
  if (p.length > 200 || !MOUNT_PATH_PATTERN.test(p)) return false;
  if (p.split("/").some((c) => c === "." || c === "..")) return false;
  if (p === "/etc") return false;
  return !RESERVED_MOUNT_PREFIXES.some((r) => p === r || p.startsWith(`${r}/`));
}

/**
 * A size like `512M`, `1G`, `1.5G`, `1T` or `512` (MiB) as whole MiB, the way `berth volumes:create --size` reads it
 * (cli/commands/ps.ts parseDisk); null when it is not one.
 */
export function parseVolumeSize(raw: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([mgt])?(?:i?b)?$/i.exec(raw.trim());
  if (!m?.[1]) return null;
  const unit = (m[2] ?? "m").toLowerCase();
  const mb = Number(m[1]) * (unit === "t" ? 1024 * 1024 : unit === "g" ? 1024 : 1);
  return Number.isInteger(mb) ? mb : null;
}
