// `berth stacks:rebuild`: one background rebuild of every platform stack per control plane, with a status to poll.
// The rebuild takes minutes (debootstrap), so the API starts it and answers 202; a second request while it runs is
// refused (409). App builds that need a stack meanwhile wait for it on the stack's lock (stacks.ts) and then use
// the new image; builds already past that point keep the image they started from.
import { randomUUID } from "node:crypto";
import type { Actor, Services } from "../../context.ts";
import { errors } from "../../errors.ts";
import type { BuilderStorage } from "../buildah.ts";
import { builderDirOf, stackStorage } from "../builder-stores.ts";
import { listStacks, rebuildStacks, type StackInfo, type StackOptions, type StackStatus } from "./stacks.ts";

/** Output lines kept per rebuild (the oldest are dropped; `outputStart` says how many). */
const MAX_LINES = 2000;

export interface StackRebuildView {
  id: string;
  status: "running" | "succeeded" | "failed";
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** Stacks rebuilt so far (image names). */
  stacks: string[];
  /** Index of the first line in `output` among all lines of this rebuild (poll with `?since=`). */
  outputStart: number;
  output: string[];
}

export type RebuildFn = (s: BuilderStorage, opts: StackOptions) => Promise<StackInfo[]>;

/** The stack store of a control plane (the one the build pipeline's stack builds read). */
export function builderStorage(s: Pick<Services, "config">): BuilderStorage {
  return stackStorage(builderDirOf(s.config.dataDir));
}

/** Stack rebuilds of one control plane. */
export class StackRebuilds {
  private current: StackRebuildView | null = null;
  private total = 0;
  private running: Promise<void> | null = null;

  constructor(
    /** Only the config (where the builder storage is) and the log: built before the Services it becomes part of. */
    private readonly s: Pick<Services, "config" | "log">,
    /** The rebuild itself; tests of the API replace it, everything else uses the real one. */
    public rebuild: RebuildFn = rebuildStacks,
  ) {}

  /** Starts a rebuild in the background; 409 while one is running. */
  start(actor: Actor): StackRebuildView {
    requireInstanceAdmin(actor);
    if (this.current?.status === "running")
      throw errors.conflict(
        `a stack rebuild is already running (started ${this.current.startedAt} by ${this.current.startedBy})`,
      );
    const job: StackRebuildView = {
      id: randomUUID(),
      status: "running",
      startedBy: actor.email,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      error: null,
      stacks: [],
      outputStart: 0,
      output: [],
    };
    this.current = job;
    this.total = 0;
    const onLine = (line: string) => {
      job.output.push(line);
      this.total++;
      if (job.output.length > MAX_LINES) job.output.splice(0, job.output.length - MAX_LINES);
      job.outputStart = this.total - job.output.length;
    };
    this.s.log.info({ by: actor.email }, "stack rebuild started");
    this.running = this.rebuild(builderStorage(this.s), { onLine })
      .then((infos) => {
        job.stacks = infos.map((i) => i.image);
        job.status = "succeeded";
        this.s.log.info({ stacks: job.stacks }, "stack rebuild finished");
      })
      .catch((err: unknown) => {
        job.status = "failed";
        job.error = err instanceof Error ? err.message : String(err);
        onLine(`error: ${job.error}`);
        this.s.log.warn({ err }, "stack rebuild failed");
      })
      .finally(() => {
        job.finishedAt = new Date().toISOString();
        this.running = null;
      });
    return { ...job, output: [...job.output] };
  }

  /** The running or last rebuild (output lines from index `since` on), or null if none ran since the start. */
  view(since = 0): StackRebuildView | null {
    const job = this.current;
    if (!job) return null;
    const skip = Math.max(0, since - job.outputStart);
    return { ...job, stacks: [...job.stacks], outputStart: job.outputStart + skip, output: job.output.slice(skip) };
  }

  /** Resolves when the running rebuild (if any) is over: for shutdown and tests. */
  async settled(): Promise<void> {
    await this.running;
  }
}

/** Only the instance admin manages platform stacks; everyone else gets 403 (the route's existence is no secret). */
export function requireInstanceAdmin(actor: Actor): void {
  if (!actor.isAdmin) throw errors.forbidden("only the instance admin manages platform stacks");
}

/** `GET /stacks`: the stacks in the builder storage and the running or last rebuild. */
export async function stackOverview(
  s: Services,
  actor: Actor,
): Promise<{ stacks: StackStatus[]; rebuild: StackRebuildView | null }> {
  requireInstanceAdmin(actor);
  return { stacks: await listStacks(builderStorage(s)), rebuild: s.stacks.view() };
}

/** `GET /stacks/rebuild`: the running or last rebuild; 404 when none ran since the control plane started. */
export function rebuildStatus(s: Services, actor: Actor, since = 0): StackRebuildView {
  requireInstanceAdmin(actor);
  const v = s.stacks.view(since);
  if (!v) throw errors.notFound("stack rebuild");
  return v;
}
