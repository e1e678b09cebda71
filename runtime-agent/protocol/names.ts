// Allowlists for every name and value the control plane can send that reaches a path, an argv or a spec.
// The API validates the same things at its edge; the agent checks again because it is the last line.
import { z } from "zod";

/** Instance, release and node ids: lowercase DNS-label style, safe as file names, runc ids and hostnames. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** App names as the platform allows them (a lowercase letter first). */
export const APP_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** Procfile process types: `web`, `worker`, `clock`. */
export const PROCESS_TYPE_PATTERN = /^[a-z][a-z0-9_-]{0,29}$/;

/**
 * Team ids (the control plane's database ids, e.g. cuids): lowercase letters, digits and dashes. The agent uses the
 * team as a key (per-team user-namespace id ranges, the network policy's per-team chains, whose names are a hash of
 * it) and in an iptables comment; never in a path or argv, but it is checked all the same.
 */
export const TEAM_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Volume ids the control plane assigns (`vol-` + lowercase letters and digits): a directory name in the agent's
 * volume store, never a host path a tenant chooses. */
export const VOLUME_ID_PATTERN = /^vol-[a-z0-9]{8,40}$/;

/**
 * Where a volume is mounted inside the container: an absolute, normalised path of plain characters, not the root and
 * not below the kernel or platform paths the runtime mounts itself (/proc, /sys, /dev, /etc/hosts, /etc/resolv.conf),
 * and not /etc itself (a volume there would hide the platform's files below it).
 */
export const MOUNT_PATH_PATTERN = /^(?:\/[A-Za-z0-9._-]+){1,16}$/;
const RESERVED_MOUNT_PREFIXES = ["/proc", "/sys", "/dev", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"];

/** Env keys as POSIX shells accept them. */
export const ENV_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/** RFC 1123 host names (lowercase, dot-separated labels). */
export const HOSTNAME_PATTERN =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

// Image references after the distribution/reference grammar: [host[:port]/]path[:tag][@sha256:hex].
const hostComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domain = `${hostComponent}(?:\\.${hostComponent})*(?::[0-9]{1,5})?`;
const pathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const tag = "[\\w][\\w.-]{0,127}";
const digest = "sha256:[a-f0-9]{64}";
/** Image references: optional registry host[:port], lowercase path, optional tag and/or sha256 digest. */
export const IMAGE_REF_PATTERN = new RegExp(
  `^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*(?::${tag})?(?:@${digest})?$`,
);

const noNul = (v: string) => !v.includes("\0");

/** An instance id (also the container id, netns suffix, hostname). */
export const InstanceId = z.string().regex(ID_PATTERN, { message: "invalid instance id" });
/** A release id or version label such as `v12`. */
export const ReleaseId = z.string().regex(ID_PATTERN, { message: "invalid release id" });
/** The id of the team that owns an instance's app. */
export const TeamId = z.string().regex(TEAM_ID_PATTERN, { message: "invalid team id" });
/** A node id assigned by the control plane. */
export const NodeId = z.string().regex(ID_PATTERN, { message: "invalid node id" });
/** An app name. */
export const AppName = z.string().regex(APP_PATTERN, { message: "invalid app name" });
/** A process type from the Procfile. */
export const ProcessType = z.string().regex(PROCESS_TYPE_PATTERN, { message: "invalid process type" });
/** An environment variable name. */
export const EnvKey = z.string().regex(ENV_KEY_PATTERN, { message: "invalid env key" });
/** An environment value: any text without NUL (it travels only inside the OCI env array), at most 32 KiB. */
export const EnvValue = z
  .string()
  .max(32 * 1024)
  .refine(noNul, { message: "env value contains NUL" });
/** An image reference (never starts with a dash, never contains spaces or shell characters). */
export const ImageRef = z.string().max(512).regex(IMAGE_REF_PATTERN, { message: "invalid image reference" });
/** One argv element of a container command. */
export const CommandArg = z
  .string()
  .max(64 * 1024)
  .refine(noNul, { message: "argument contains NUL" });
/** A host name. */
export const Hostname = z.string().regex(HOSTNAME_PATTERN, { message: "invalid hostname" });
/** An HTTP path for health checks: absolute, printable ASCII only. */
export const HttpPath = z
  .string()
  .max(1024)
  .regex(/^\/[\x21-\x7e]*$/, { message: "invalid http path" });

/** A volume id (the directory of the volume in the agent's volume store). */
export const VolumeId = z.string().regex(VOLUME_ID_PATTERN, { message: "invalid volume id" });

/** True if `p` is an acceptable container mount path for a volume (see MOUNT_PATH_PATTERN). Pure. */
export function isValidMountPath(p: string): boolean {
  if (p.length > 200 || !MOUNT_PATH_PATTERN.test(p)) return false;
  if (p.split("/").some((c) => c === "." || c === "..")) return false;
  if (p === "/etc") return false;
  return !RESERVED_MOUNT_PREFIXES.some((r) => p === r || p.startsWith(`${r}/`));
}

/** A volume's mount path inside the container. */
export const MountPath = z.string().refine(isValidMountPath, { message: "invalid mount path" });

/** Throws unless `id` is a valid volume id; returns it for chaining at the sink. */
export function assertValidVolumeId(id: string): string {
  if (!VOLUME_ID_PATTERN.test(id)) throw new Error(`invalid volume id: ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

/** True if `id` may be used as an instance id in a path or argv (for sinks that re-check). */
export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Throws unless `id` passes the id allowlist; returns it for chaining at the sink. */
export function assertValidId(id: string, what = "id"): string {
  if (!ID_PATTERN.test(id)) throw new Error(`invalid ${what}: ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

/** True if `ref` is an acceptable image reference. */
export function isValidImageRef(ref: string): boolean {
  return ref.length <= 512 && IMAGE_REF_PATTERN.test(ref);
}
