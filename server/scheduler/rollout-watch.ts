// Follows one release's rollout for the pusher: instance transitions as they happen, then the verdict.
import type { InstanceEvent } from "../../runtime-agent/protocol/index.ts";
import type { Services } from "../context.ts";
import type { ReleaseOutcome } from "./scheduler.ts";

export interface ProgressSink {
  step(text: string): void;
  line(text: string): void;
}

export type RolloutVerdict = { status: "deployed" | "failed" | "superseded" | "waiting"; reason?: string | undefined };

const DONE = new Set(["deployed", "failed", "superseded"]);

/**
 * Waits until release `version` of `app` is deployed, failed or superseded, printing progress. Returns `waiting`
 * at once when no node is ready (the release rolls out when one joins).
 */
export async function watchRollout(
  s: Services,
  app: string,
  release: { id: string; version: number },
  out: ProgressSink,
): Promise<RolloutVerdict> {
  const sched = s.scheduler;
  if (!(await sched.hasReadyNode())) {
    out.line(`       no node is ready yet: v${release.version} rolls out as soon as one joins`);
    return { status: "waiting" };
  }
  out.step(`Rolling out v${release.version}`);
  const label = `v${release.version}`;
  const seen = new Set<string>();
  return new Promise<RolloutVerdict>((resolve) => {
    const finish = (v: RolloutVerdict) => {
      clearInterval(poll);
      clearTimeout(timer);
      sched.off("release", onRelease);
      sched.off("instance", onInstance);
      sched.off("rollout-note", onNote);
      resolve(v);
    };
    const onRelease = (o: ReleaseOutcome) => {
      if (o.releaseId === release.id && DONE.has(o.status))
        finish({ status: o.status as RolloutVerdict["status"], reason: o.reason });
    };
    const onInstance = (appName: string, e: InstanceEvent) => {
      if (appName !== app || e.release !== label) return;
      const key = `${e.instanceId}:${e.state}:${e.restarts ?? 0}`;
      if (seen.has(key)) return;
      seen.add(key);
      const detail = [e.exitCode !== undefined ? `exit code ${e.exitCode}` : "", e.reason ?? ""]
        .filter(Boolean)
        .join(", ");
      out.line(`       ${e.processType} ${e.instanceId}: ${e.state}${detail ? ` (${detail})` : ""}`);
    };
    // How the rollout goes on when the new instances do not fit beside the old ones (batches, room made).
    const onNote = (appName: string, text: string) => {
      if (appName === app) out.line(`       ${text}`);
    };
    sched.on("release", onRelease);
    sched.on("instance", onInstance);
    sched.on("rollout-note", onNote);
    // The outcome may have been decided before we listened, or by another control-plane pass: check the database too.
    const poll = setInterval(() => {
      s.db.release
        .findUnique({ where: { id: release.id }, select: { status: true, failReason: true } })
        .then((r) => {
          if (!r) finish({ status: "superseded", reason: "the release no longer exists" });
          else if (DONE.has(r.status))
            finish({ status: r.status as RolloutVerdict["status"], reason: r.failReason || undefined });
        })
        .catch(() => undefined);
    }, 1000);
    const limit = sched.opts.plan.rolloutTimeoutMs + 30_000;
    const timer = setTimeout(() => finish({ status: "failed", reason: "timed out waiting for the rollout" }), limit);
  });
}
