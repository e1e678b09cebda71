// Checks of the create-volume form with the API's rules (shared/volumes.ts, shared/names.ts), worded for the form and
// the same ones `berth volumes:create` applies before its request. The server stays the authority: when it disagrees
// (a name or mount path already used, a limit), its error is shown under the form.
import { PROCESS_TYPE_PATTERN } from "../shared/names";
import { isValidVolumeMountPath, parseVolumeSize, VOLUME_NAME_PATTERN, VOLUME_SIZE_MB } from "../shared/volumes";

export interface VolumeFormInput {
  name: string;
  size: string;
  mountPath: string;
  processType: string;
}

export type VolumeFormProblems = Partial<Record<keyof VolumeFormInput, string>>;

/** A size in MiB as the dashboard shows it: `1 GiB`, `512 MiB`. */
export function formatVolumeSize(mb: number): string {
  if (mb >= 1024 * 1024 && mb % (1024 * 1024) === 0) return `${mb / 1024 / 1024} TiB`;
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GiB` : `${mb} MiB`;
}

/** What is wrong with each field (empty when the form can be sent), and the size in MiB when it parses. */
export function checkVolumeForm(v: VolumeFormInput): { problems: VolumeFormProblems; sizeMb: number | null } {
  const problems: VolumeFormProblems = {};
  if (v.name.length === 0) problems.name = "Enter a name.";
  else if (!VOLUME_NAME_PATTERN.test(v.name) || v.name.endsWith("-"))
    problems.name = "Start with a lowercase letter, then lowercase letters, digits and dashes (at most 30).";
  const sizeMb = parseVolumeSize(v.size);
  if (v.size.trim().length === 0) problems.size = "Enter a size, like 1G or 512M.";
  else if (sizeMb === null) problems.size = "Use a whole number of MiB, like 512M, 1G or 1.5G.";
  else if (sizeMb < VOLUME_SIZE_MB.min || sizeMb > VOLUME_SIZE_MB.max)
    problems.size = `Use a size from ${formatVolumeSize(VOLUME_SIZE_MB.min)} to ${formatVolumeSize(VOLUME_SIZE_MB.max)}.`;
  if (v.mountPath.length === 0) problems.mountPath = "Enter where it is mounted, like /data.";
  else if (!isValidVolumeMountPath(v.mountPath))
    problems.mountPath =
      "Use an absolute path like /data (letters, digits, . _ -), not /etc or below /proc, /sys, /dev.";
  if (!PROCESS_TYPE_PATTERN.test(v.processType)) problems.processType = "Pick a process type.";
  return { problems, sizeMb };
}
