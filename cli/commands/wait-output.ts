// The end of a `--wait`: follows the rollout (cli/rollout-wait.ts) and says how it ended, in text mode on stdout.
// With --json, stdout keeps only the command's own JSON answer (printed before waiting); progress goes to stderr.
import type { BerthApi } from "../api-client.ts";
import { note, println } from "../output.ts";
import { describeProgress, waitForRollout, type WaitGoal } from "../rollout-wait.ts";

/** Waits for `goal` and prints the final state; throws (exit 1) with the reason when the rollout aborts. */
export async function finishWait(api: BerthApi, app: string, goal: WaitGoal, json: boolean | undefined): Promise<void> {
  const st = await waitForRollout(api, app, goal);
  if (json) return;
  if (st.release === null) return note(`${app} has no release yet: nothing to roll out.`);
  const ready = st.processes.map((p) => `${p.type} ${p.running}/${p.quantity}`).join(", ");
  println(
    goal.kind === "release"
      ? `v${goal.version} of ${app} is deployed (${ready || "no process types"}).`
      : `${app} is running: ${ready || describeProgress(st)}.`,
  );
}
