// `--wait` of the commands that change what runs (ps:scale, ps:restart, config:set/unset, rollback): follows the
// rollout by polling GET /apps/{app}/rollout, prints a progress line on stderr whenever it changes
// ("v7 deploying: web 1/2 running (1 starting)"), and ends when the change is done, or throws with the reason
// when it aborts. The server decides what "failed" means (the scheduler's own rules), so every client agrees.
import { seg, type BerthApi } from "./api-client.ts";
import { CliError } from "./errors.ts";
import { note } from "./output.ts";
import type { RolloutStatus } from "./api-types.ts";
export type { RolloutStatus };

/**
 * What to wait for: release `version` deployed (config:set, rollback), or the app settled with nothing left to
 * start or replace (ps:scale, ps:restart), where a failing instance that is not one of `known` (the instances from
 * before the change) aborts the wait.
 */
export type WaitGoal = { kind: "release"; version: number } | { kind: "settled"; known: ReadonlySet<string> };

export interface WaitOptions {
  /** Between two polls; default 500 ms. */
  pollMs?: number;
  /** Give up when the status has not changed for this long; default 330 s (the scheduler's rollout timeout + 30 s). */
  stallMs?: number;
  /** Where progress lines go; default stderr. */
  progress?: (line: string) => void;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** One progress line: `v7 deploying: web 1/2 running (1 starting), worker 0/1 running; 2 old instances to stop`. */
export function describeProgress(st: RolloutStatus): string {
  const head = st.release ? `v${st.release.version} ${st.release.status}` : "no release";
  const types = st.processes.map((p) => {
    const extra = [p.starting ? `${p.starting} starting` : "", p.replacing ? `${p.replacing} to replace` : ""].filter(
      Boolean,
    );
    return `${p.type} ${p.running}/${p.quantity} running${extra.length ? ` (${extra.join(", ")})` : ""}`;
  });
  const rest = [
    st.old ? `${plural(st.old, "old instance")} to stop` : "",
    st.stopping ? `${st.stopping} stopping` : "",
    st.placementIssue ? `cannot place: ${st.placementIssue}` : "",
  ].filter(Boolean);
  return `${head}: ${types.join(", ") || "no process types"}${rest.length ? `; ${rest.join("; ")}` : ""}`;
}

/**
 * The outcome of one status for `goal`: "done", a failure sentence, or null to keep waiting. Pure, so the
 * decisions are table-tested (cli/rollout-wait.test.ts).
 */
export function judge(st: RolloutStatus, goal: WaitGoal): "done" | { failed: string } | null {
  if (goal.kind === "release") {
    const status = st.release?.status;
    if (status === "deployed") return "done";
    if (status === "failed")
      return { failed: `v${goal.version} failed: ${st.release?.failReason ?? "unknown reason"}` };
    if (status === "superseded")
      return { failed: `v${goal.version} was superseded by a newer release before it was deployed` };
  } else {
    if (st.release === null || st.settled) return "done";
    const fresh = st.failing.find((f) => !goal.known.has(f.instance));
    if (fresh) return { failed: fresh.reason };
  }
  if (!st.nodeReady) return { failed: "no node is ready to run instances; the change applies when one joins" };
  return null;
}

/** Polls the rollout of `app` until `goal` is reached (returns the last status) or fails (throws a CliError). */
export async function waitForRollout(
  api: BerthApi,
  app: string,
  goal: WaitGoal,
  opts: WaitOptions = {},
): Promise<RolloutStatus> {
  const pollMs = opts.pollMs ?? 500;
  const stallMs = opts.stallMs ?? 330_000;
  const progress = opts.progress ?? note;
  const query = goal.kind === "release" ? `?release=${goal.version}` : "";
  let last = "";
  let changedAt = Date.now();
  for (;;) {
    const { body: st } = await api.get<RolloutStatus>(`/apps/${seg(app)}/rollout${query}`);
    const line = describeProgress(st);
    if (line !== last) {
      progress(line);
      last = line;
      changedAt = Date.now();
    }
    const outcome = judge(st, goal);
    if (outcome === "done") return st;
    if (outcome) throw new CliError(outcome.failed);
    if (Date.now() - changedAt > stallMs) {
      throw new CliError(
        `the rollout made no progress in ${Math.round(stallMs / 1000)} s${st.placementIssue ? `: ${st.placementIssue}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Ids of the app's instances now, so that only instances started by the change can abort a `settled` wait. */
export async function currentInstanceIds(api: BerthApi, app: string): Promise<Set<string>> {
  const { body } = await api.get<{ id: string }[]>(`/apps/${seg(app)}/instances`);
  return new Set(body.map((i) => i.id));
}

/** The option every waiting command declares. */
export const WAIT_FLAG = "--wait";
/** Its help text. */
export const WAIT_HELP = "follow the rollout until it is done (progress on stderr); exit 1 if it aborts";
