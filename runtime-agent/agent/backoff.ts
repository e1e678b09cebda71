// Pure backoff arithmetic: jittered reconnects to the control plane and restart delays of crashed instances.

/** Restart delays: the first restart is immediate, then 1 s doubling up to this cap. */
export const RESTART_CAP_MS = 5 * 60 * 1000;
/** An instance healthy for this long starts over at the first (immediate) restart. */
export const RESTART_RESET_AFTER_MS = 10 * 60 * 1000;
const RESTART_BASE_MS = 1000;

/** Delay before restart number `step` (0-based): 0, 1 s, 2 s, 4 s, ... capped at 5 minutes. */
export function restartDelayMs(step: number): number {
  if (step <= 0) return 0;
  return Math.min(RESTART_BASE_MS * 2 ** Math.min(step - 1, 30), RESTART_CAP_MS);
}

/** The backoff step to use for the next restart, given how long the instance was healthy before it crashed. */
export function nextRestartStep(step: number, healthyForMs: number): number {
  return healthyForMs >= RESTART_RESET_AFTER_MS ? 0 : step;
}

/** Reconnect delays: "full jitter" over base * 2^attempt, capped; `random` in [0, 1). */
export function reconnectDelayMs(attempt: number, random: number, baseMs = 500, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  // Keep a floor of half the ceiling so a crowd of agents spreads out without hammering at 0 ms.
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random, 0), 1));
}
