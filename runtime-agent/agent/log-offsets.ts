// The log shipper's offsets file, `<stateDir>/log-offsets.json`: per instance the log path, the inode and the byte
// offset shipped so far, so a restarted agent resumes where it stopped. Read once at start, written (temp file +
// rename: never a torn file) after sending.
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { z } from "zod";

const OffsetsFile = z.object({
  version: z.literal(1),
  instances: z.record(
    z.string(),
    z.object({
      app: z.string(),
      release: z.string(),
      processType: z.string(),
      path: z.string(),
      ino: z.number(),
      offset: z.int().min(0),
    }),
  ),
});

/** Per instance id: its owner, log path and how far its file (inode) was shipped. */
export type LogOffsets = z.infer<typeof OffsetsFile>["instances"];

/** Path of the offsets file under the agent's state dir. */
export function offsetsFilePath(stateDir: string): string {
  return path.join(stateDir, "log-offsets.json");
}

/** The persisted offsets; none when the file is missing or unreadable (offsets are a convenience: resend, not fail). */
export async function loadOffsets(stateDir: string, log: Logger): Promise<LogOffsets> {
  const file = offsetsFilePath(stateDir);
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  try {
    return OffsetsFile.parse(JSON.parse(text)).instances;
  } catch (err) {
    log.warn({ err }, "log offsets file unreadable; logs are shipped from the start of each file");
    return {};
  }
}

/** Replaces the offsets file with `instances`. */
export async function writeOffsets(stateDir: string, instances: LogOffsets): Promise<void> {
  const file = offsetsFilePath(stateDir);
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify({ version: 1, instances }), { mode: 0o600 });
  await fs.rename(tmp, file);
}
