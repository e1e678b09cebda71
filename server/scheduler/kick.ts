// A tiny seam so domain code (releases, formation, domains, apps) can ask for a scheduler pass after a change
// without importing the scheduler (and the agent hub behind it). Built once in control-plane.ts
// (services.schedulerKick); the scheduler connects itself to it while it runs.
import type { Services } from "../context.ts";

export class SchedulerKick {
  private fn: (() => void) | undefined;

  /** The running scheduler's kick, or undefined when it stops. */
  connect(fn: (() => void) | undefined): void {
    this.fn = fn;
  }

  /** Asks for a scheduler pass soon; a no-op when no scheduler runs (API-only tests). */
  kick(): void {
    this.fn?.();
  }
}

/** Asks for a scheduler pass soon; a no-op when no scheduler runs (API-only tests). */
export function kickScheduler(s: Pick<Services, "schedulerKick">): void {
  s.schedulerKick.kick();
}
