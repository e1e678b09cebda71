// Thin wrapper over the runc CLI (runc 1.1): argv only and `--root` always set. Callers pass validated ids,
// which never start with a dash, so runc cannot read them as flags.
import { z } from "zod";
import { isRuntimeError, RuntimeError } from "./errors.ts";
import { run } from "./exec.ts";

/** `runc state` output (the fields Berth reads). */
export const RuncState = z.object({
  id: z.string(),
  pid: z.number().int(),
  status: z.enum(["creating", "created", "running", "paused", "stopped"]),
  bundle: z.string(),
  created: z.string(),
});
export type RuncState = z.infer<typeof RuncState>;

const NOT_FOUND = /container does not exist|not exist|no such file/i;

/** runc bound to one state root. */
export class Runc {
  constructor(
    private readonly runcPath: string,
    private readonly root: string,
  ) {}

  /** Global args passed before every subcommand (also handed to conmon as runtime args). */
  globalArgs(): string[] {
    return ["--root", this.root];
  }

  /** State of `id`, or null when runc does not know it. */
  async state(id: string): Promise<RuncState | null> {
    try {
      const { stdout } = await run(this.runcPath, [...this.globalArgs(), "state", id], { timeoutMs: 15_000 });
      return RuncState.parse(JSON.parse(stdout));
    } catch (err) {
      if (isRuntimeError(err) && NOT_FOUND.test(err.message)) return null;
      throw err;
    }
  }

  /** Starts a created container. */
  async start(id: string): Promise<void> {
    await run(this.runcPath, [...this.globalArgs(), "start", id], { timeoutMs: 30_000 });
  }

  /** Sends `signal` to the container's init (`all` = every process in it). */
  async kill(id: string, signal: string, all = false): Promise<void> {
    await run(this.runcPath, [...this.globalArgs(), "kill", ...(all ? ["--all"] : []), id, signal], {
      timeoutMs: 15_000,
    });
  }

  /** Deletes the container's runc state and cgroup; `force` kills it first. Missing containers are fine. */
  async delete(id: string, force = true): Promise<void> {
    try {
      await run(this.runcPath, [...this.globalArgs(), "delete", ...(force ? ["--force"] : []), id], {
        timeoutMs: 30_000,
      });
    } catch (err) {
      if (isRuntimeError(err) && NOT_FOUND.test(err.message)) return;
      throw err;
    }
  }

  /** Ids runc knows in this root. */
  async list(): Promise<RuncState[]> {
    const { stdout } = await run(this.runcPath, [...this.globalArgs(), "list", "--format", "json"], {
      timeoutMs: 15_000,
    });
    const parsed: unknown = JSON.parse(stdout.trim() || "null");
    if (parsed === null) return [];
    const list = z.array(RuncState).safeParse(parsed);
    if (!list.success) throw new RuntimeError("failed", "unexpected runc list output");
    return list.data;
  }
}
