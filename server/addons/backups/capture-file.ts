// The file side of backups, shared by add-on and volume backups. Capture: the node streams the dump or archive into
// `<file>.partial` (0600, never overwriting), which is renamed to `<file>` only when the tool exited 0 and wrote
// something, so a listed file is always a whole one; the outcome goes to the backup's row and nothing is thrown.
// Download: the finished file opened once, so its size and its stream are of the same file.
import { createReadStream, createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { errors } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { ExecResult } from "./exec-stream.ts";

export interface CaptureFile {
  /** Where the finished backup goes (its directory made by `ensureDir`). */
  file: string;
  ensureDir: () => Promise<unknown>;
  /** Streams the backup into `out` (the agent's exec stream). */
  run: (out: Writable) => Promise<ExecResult>;
  /** For messages: "the dump", "tar"; and "add-on backup", "volume backup". */
  tool: string;
  noun: string;
  /** Record the outcome on the backup's row. */
  completed: (sizeBytes: number) => Promise<unknown>;
  failed: (reason: string) => Promise<unknown>;
  log: Logger;
}

export async function captureToFile(c: CaptureFile): Promise<void> {
  const partial = `${c.file}.partial`;
  try {
    await c.ensureDir();
    const out = createWriteStream(partial, { mode: 0o600, flags: "wx" });
    await new Promise<void>((res, rej) => {
      out.once("open", () => res());
      out.once("error", rej);
    });
    let result: ExecResult;
    try {
      result = await c.run(out);
    } finally {
      await new Promise<void>((res) => out.end(() => res()));
    }
    if (result.exitCode !== 0)
      throw new Error(`${c.tool} exited with ${result.exitCode}: ${result.stderr || "no message"}`);
    const { size } = await fs.stat(partial);
    if (size === 0) throw new Error(`${c.tool} wrote nothing`);
    await fs.rename(partial, c.file);
    await c.completed(size);
    c.log.info({ sizeBytes: size }, `${c.noun} captured`);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).slice(0, 500);
    c.log.warn({ err }, `${c.noun} failed`);
    await fs.rm(partial, { force: true }).catch(() => undefined);
    await c.failed(reason).catch((e: unknown) => c.log.error({ err: e }, `marking the ${c.noun} failed`));
  }
}

/** A finished backup's file opened for a download: its size and a stream that closes the file when done. */
export async function openBackupFile(file: string, id: string): Promise<{ sizeBytes: number; stream: Readable }> {
  const handle = await fs.open(file, "r").catch(() => {
    throw errors.notFound(`the file of backup ${id}`);
  });
  const { size } = await handle.stat();
  return { sizeBytes: size, stream: createReadStream(file, { fd: handle, autoClose: true }) };
}
