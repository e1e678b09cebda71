// Interactive `berth run` (the run WebSocket): a one-off container of the deployed release is started idle, and the
// command runs in it as an exec session (exec-broker.ts), so it gets the same terminal, flow control, limits and
// access rules as `ps:exec`. The container exists only for the session: whatever ends the session (the command
// exits, the client goes away, idle timeout, access lost, node gone, --timeout) stops it, and a control plane that
// restarts forgets its one-offs, which the scheduler then stops.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { createOneOff, stopOneOff } from "../instances/one-off.ts";
import { requireApp } from "../teams/access.ts";
import type { StreamCredential } from "../ws/stream-auth.ts";
import { addonClientTarget, type AddonClient } from "../addons/client.ts";
import type { ExecBroker } from "./exec-broker.ts";
import type { ExecClient, ExecHandle } from "./exec-types.ts";

/**
 * The one-off's own process: waits (in the image's /bin/sh, like every one-off command) until it is stopped. A TERM
 * trap, because a PID 1 without one ignores SIGTERM and would only go at the stop's SIGKILL; no `sleep` in the image
 * ends the loop (and the container) instead of spinning.
 */
export const IDLE_COMMAND = "trap 'exit 0' TERM INT HUP; while sleep 3600 & wait $!; do :; done";
/** How long the container may take to run (placement, image pull, start). */
const START_TIMEOUT_MS = 300_000;
const POLL_MS = 200;
/** Exit code of a command stopped by --timeout (like timeout(1)). */
export const TIMEOUT_EXIT_CODE = 124;

/** What the client asked for. */
export interface RunStart {
  app: string;
  /** argv words, joined and run by the image's /bin/sh as the non-interactive `berth run` does. */
  command: string[];
  tty: boolean;
  cols: number;
  rows: number;
  timeoutSeconds: number;
  /** Process type whose limits and requests the one-off gets (`--type`); default: as any one-off. */
  type?: string | undefined;
  /**
   * `addons:psql` / `addons:redis-cli`: the one-off runs in the add-on's service app (named by `addon`, else the
   * app's only one of the client's kind) and the server picks the command; `command` is empty then.
   */
  client?: { name: AddonClient; addon?: string | undefined } | undefined;
}

/** The open run: an exec handle plus the release it runs. */
export type RunHandle = ExecHandle & { release: number };

/**
 * Authorizes (`app:exec`, member and up; another team's app is 404) and counts the session against the user's cap
 * before anything is created, starts the one-off, waits until it runs, then opens the session in it (audited as
 * `instance.run`). `signal` aborts the wait when the client goes away. Throws BerthError like ExecBroker.open.
 */
export async function openRun(
  s: Services,
  broker: ExecBroker,
  actor: Actor,
  credential: StreamCredential,
  req: RunStart,
  client: ExecClient,
  signal: AbortSignal,
): Promise<RunHandle> {
  const { app } = await requireApp(s.db, actor, req.app, "app:exec");
  const release = broker.reserve(actor);
  let instance: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const stop = () => {
    clearTimeout(timer);
    if (instance)
      stopOneOff(s, instance).catch((err: unknown) => s.log.error({ err, instance }, "stopping a one-off failed"));
  };
  try {
    const addon = req.client ? await addonClientTarget(s, app, req.client.name, req.client.addon) : null;
    const run = await createOneOff(s, addon?.service ?? app, IDLE_COMMAND, addon ? undefined : req.type);
    instance = run.id;
    await waitRunning(s, run.id, signal);
    const handle = await broker.open(
      actor,
      credential,
      {
        app: app.name,
        instance: run.id,
        command: ["/bin/sh", "-c", addon?.command ?? req.command.join(" ")],
        target: addon?.service,
        tty: req.tty,
        cols: req.cols,
        rows: req.rows,
        reserved: true,
        audit: {
          action: "instance.run",
          data: {
            release: `v${run.release}`,
            tty: req.tty,
            ...(req.type && !addon ? { type: req.type } : {}),
            ...(addon ? { addon: addon.addon, client: req.client?.name } : {}),
          },
        },
      },
      {
        ...client,
        end: (outcome) => {
          stop();
          client.end(
            timedOut && !("exitCode" in outcome)
              ? { exitCode: TIMEOUT_EXIT_CODE, reason: `timed out after ${req.timeoutSeconds} s` }
              : outcome,
          );
        },
      },
    );
    timer = setTimeout(() => {
      timedOut = true;
      handle.close();
    }, req.timeoutSeconds * 1000);
    timer.unref();
    return { ...handle, release: run.release };
  } catch (err) {
    stop();
    throw err;
  } finally {
    release();
  }
}

/** Resolves once the one-off runs; throws when it cannot (no node, failed start), the wait is aborted or too long. */
async function waitRunning(s: Services, id: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (signal.aborted) throw errors.conflict("the client went away before the one-off started");
    const row = await s.db.instance.findUnique({ where: { id } });
    if (!row || row.desired !== "oneoff") throw errors.unavailable("the one-off could not be placed on a node");
    if (row.state === "running") return;
    if (row.state === "failed" || row.state === "crashed" || row.state === "stopped")
      throw errors.unavailable(`the one-off did not start: ${row.reason || row.state}`);
    if (Date.now() > deadline) throw errors.unavailable("the one-off did not start in time");
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
