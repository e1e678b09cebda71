// One-off instances (`berth run -a APP -- CMD`): a container of the deployed release (its image and config) that
// runs one command once. The scheduler places it; its output comes back through the normal log path (agent log
// shipping -> app log store), its exit code through the agent's instance events; afterwards it is removed.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { newInstanceId } from "../scheduler/instance-spec.ts";

const POLL_MS = 200;
/** After the exit is reported, lines still in flight from the node get this long to arrive. */
const SETTLE_MS = 1_500;
const FINISHED = new Set(["stopped", "crashed", "failed"]);

export type OneOffEvent =
  | { type: "started"; instance: string; release: number }
  | { type: "output"; stream: "stdout" | "stderr"; text: string }
  | { type: "exit"; code: number; reason?: string | undefined };

/** Creates the one-off instance; the scheduler places and starts it. */
export async function startOneOff(s: Services, actor: Actor, appName: string, argv: string[], type?: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:deploy");
  // Like Heroku's `bash -c "..."`: the words are joined and run by the image's shell (so `$PORT` and pipes work).
  const run = await createOneOff(s, app, argv.join(" "), type);
  await recordAudit(s.db, actor, {
    teamId: app.teamId,
    appName: app.name,
    action: "instances.run",
    target: run.id,
    data: { release: `v${run.release}`, ...(type ? { type } : {}) },
  });
  return run;
}

/**
 * Creates a one-off instance of the app's deployed release running `command` (a /bin/sh -c string) and asks the
 * scheduler to place it. With `type` (`berth run --type T`) it gets T's limits and requests, fixed on its row; a type
 * neither in the release's Procfile nor in the formation is refused (validation_failed) before anything is created.
 * The caller authorized and audits; it must stop it (stopOneOff) when done.
 */
export async function createOneOff(
  s: Services,
  app: { id: string; name: string },
  command: string,
  type?: string | undefined,
) {
  const sched = s.scheduler;
  const release =
    (await s.db.release.findFirst({ where: { appId: app.id, status: "deployed" }, orderBy: { version: "desc" } })) ??
    (await s.db.release.findFirst({ where: { appId: app.id }, orderBy: { version: "desc" } }));
  if (!release) throw errors.conflict(`${app.name} has no release yet; deploy it first`);
  const limits = type === undefined ? {} : await limitsOfType(s, app, release, type);
  const id = newInstanceId(app.name, "run");
  // Only in memory: a control plane that restarts forgets it, and the scheduler then stops the instance.
  sched.oneOffs.set(id, { command });
  await s.db.instance.create({
    data: { id, appId: app.id, releaseId: release.id, processType: "run", desired: "oneoff", ...limits },
  });
  sched.kick();
  return { id, app: { id: app.id, name: app.name }, release: release.version };
}

/** The limits and requests of the app's process type `type` (its formation's; none = the defaults). */
async function limitsOfType(
  s: Services,
  app: { id: string; name: string },
  release: { processTypes: string },
  type: string,
) {
  const f = await s.db.formation.findUnique({ where: { appId_type: { appId: app.id, type } } });
  const inRelease = Object.hasOwn(JSON.parse(release.processTypes) as Record<string, string>, type);
  if (!f) {
    if (!inRelease) throw errors.validation(`${app.name} has no process type '${type}'`);
    return {}; // never scaled or limited: the defaults, as without --type
  }
  const { memoryMb, cpu, diskMb, bandwidthMbit, memoryRequestMb, cpuRequest } = f;
  return { memoryMb, cpu, diskMb, bandwidthMbit, memoryRequestMb, cpuRequest };
}

/** Stops a one-off: the scheduler has its container removed. Harmless when it is already stopped or gone. */
export async function stopOneOff(s: Services, id: string): Promise<void> {
  await s.db.instance.updateMany({ where: { id }, data: { desired: "stopped" } });
  s.scheduler.oneOffs.delete(id);
  s.scheduler.kick();
}

/** Follows a one-off until it exits (or `signal` aborts, or `timeoutMs` passes); then it is stopped and removed. */
export async function* followOneOff(
  s: Services,
  run: { id: string; app: { id: string; name: string }; release: number },
  signal: AbortSignal,
  timeoutMs: number,
): AsyncGenerator<OneOffEvent> {
  yield { type: "started", instance: run.id, release: run.release };
  const store = s.logs.store;
  let after = (await store.read(run.app, { lines: 0 })).lastSeq;
  let exitedAt = 0;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const { entries } = await store.read(run.app, { instance: run.id, source: "app", after, lines: 1000 });
      for (const e of entries) {
        after = e.seq;
        yield { type: "output", stream: e.stream, text: e.text };
      }
      const row = await s.db.instance.findUnique({ where: { id: run.id } });
      if (!row) {
        yield { type: "exit", code: 1, reason: "the one-off could not be placed on a node, or was stopped" };
        return;
      }
      if (FINISHED.has(row.state)) {
        exitedAt ||= Date.now();
        if (entries.length === 0 && Date.now() - exitedAt >= SETTLE_MS) {
          const failed = row.state === "failed";
          yield {
            type: "exit",
            // A crash whose status the node never learned is a failure, not a success.
            code: row.exitCode ?? (failed || row.state === "crashed" ? 1 : 0),
            reason: failed ? row.reason || "failed to start" : row.reason || undefined,
          };
          return;
        }
      }
      if (signal.aborted) return;
      if (Date.now() > deadline) {
        yield { type: "exit", code: 124, reason: `timed out after ${Math.round(timeoutMs / 1000)} s` };
        return;
      }
      if (entries.length < 1000) await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    // Done, failed, timed out or the client went away: the container goes.
    await stopOneOff(s, run.id);
  }
}
