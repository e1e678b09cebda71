// Liveness of running instances: when each was last probed and how many probes in a row failed. Memory only: a
// restarted agent starts counting afresh. The reconciler decides what a failed instance means (replace it).

/** Running instances are probed this often and replaced after this many failures in a row (about 15 s). */
export const DEFAULT_LIVENESS = { everyMs: 5_000, failures: 3 };

export class LivenessTracker {
  private readonly lastProbeAt = new Map<string, number>();
  private readonly failures = new Map<string, number>();

  constructor(private readonly every: { everyMs: number; failures: number } = DEFAULT_LIVENESS) {}

  /** True (and the probe time noted) when `id` is due for a probe at `now`. */
  due(id: string, now: number): boolean {
    if (now - (this.lastProbeAt.get(id) ?? 0) < this.every.everyMs) return false;
    this.lastProbeAt.set(id, now);
    return true;
  }

  /** Records a probe result; returns the failures in a row when they reached the limit (then forgets `id`), else 0. */
  record(id: string, healthy: boolean): number {
    if (healthy) {
      this.failures.delete(id);
      return 0;
    }
    const n = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, n);
    if (n < this.every.failures) return 0;
    this.failures.delete(id);
    this.lastProbeAt.delete(id);
    return n;
  }
}
