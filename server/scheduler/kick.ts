// A tiny seam so domain code (releases, formation, domains, apps) can ask for a scheduler pass after a change
// without importing the scheduler (and the agent hub behind it).
import type { Services } from "../context.ts";

const kicks = new WeakMap<Services, () => void>();

/** Registers the function that starts a pass for this control plane (the scheduler does, when it starts). */
export function setSchedulerKick(s: Services, kick: (() => void) | undefined): void {
  if (kick) kicks.set(s, kick);
  else kicks.delete(s);
}

/** Asks for a scheduler pass soon; a no-op when no scheduler runs (API-only tests). */
export function kickScheduler(s: Services): void {
  kicks.get(s)?.();
}
