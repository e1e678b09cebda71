// Thin wrapper over the runc CLI (runc 1.1): argv only and `--root` always set. Callers pass validated ids,
// which never start with a dash, so runc cannot read them as flags.
import fs from "node:fs/promises";
import path from "node:path";
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

const StateFile = z.object({
  id: z.string(),
  init_process_pid: z.number().int(),
  init_process_start: z.number().int(),
  created: z.string(),
});

const NOT_FOUND = /container does not exist|not exist|no such file/i;

/** runc bound to one state root. */
export class Runc {
  private readonly stateFiles = new Map<string, { key: string; value: z.infer<typeof StateFile> }>();

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

  /**
   * State of `id` read from runc's files instead of a runc process, as runc 1.1 itself derives it (libcontainer
   * `runType`): stopped unless the init pid is alive with the recorded start time and not a zombie; created while the
   * exec fifo exists (removed by `runc start`), else running. Paused is not derived (Berth never pauses). Null when
   * runc has no state file for it (then ask `state()`). For the agent's per-tick listing: no process per instance.
   */
  async stateFromFiles(id: string): Promise<RuncState | null> {
    const dir = path.join(this.root, id);
    const file = await this.stateFile(path.join(dir, "state.json"));
    if (!file) return null;
    const stat = await fs.readFile(`/proc/${file.init_process_pid}/stat`, "utf8").catch(() => "");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const alive = stat !== "" && Number(f[19]) === file.init_process_start && f[0] !== "Z" && f[0] !== "X";
    const fifo =
      alive &&
      (await fs.access(path.join(dir, "exec.fifo")).then(
        () => true,
        () => false,
      ));
    return {
      id: file.id,
      pid: alive ? file.init_process_pid : 0, // as runc reports a stopped container
      status: !alive ? "stopped" : fifo ? "created" : "running",
      bundle: "",
      created: file.created,
    };
  }

  /**
   * The fields of a state.json Berth needs. The file carries the whole container config (kilobytes of JSON), so a
   * parsed copy is kept per path while its inode, size and mtime stay the same (runc replaces it by rename).
   */
  private async stateFile(file: string): Promise<z.infer<typeof StateFile> | null> {
    const st = await fs.stat(file).catch(() => null);
    if (!st) {
      this.stateFiles.delete(file);
      return null;
    }
    const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = this.stateFiles.get(file);
    if (cached?.key === key) return cached.value;
    try {
      const value = StateFile.parse(JSON.parse(await fs.readFile(file, "utf8")));
      if (this.stateFiles.size > 10_000) this.stateFiles.clear();
      this.stateFiles.set(file, { key, value });
      return value;
    } catch {
      return null;
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

  /** Freezes every process of the container (the cgroup freezer). */
  async pause(id: string): Promise<void> {
    await run(this.runcPath, [...this.globalArgs(), "pause", id], { timeoutMs: 30_000 });
  }

  /** Thaws a paused container. */
  async resume(id: string): Promise<void> {
    await run(this.runcPath, [...this.globalArgs(), "resume", id], { timeoutMs: 30_000 });
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
