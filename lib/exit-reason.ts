// How an instance's last exit reason reads for people: the agent reports machine words (`oom-killed`); the dashboard
// and `berth ps` show the same label for them.

const LABELS: Record<string, string> = {
  "oom-killed": "OOM killed",
  "health-check-failed": "health check failed",
  "start-failed": "failed to start",
  "not-desired": "stopped",
};

/** The label of an exit reason; a reason without one is shown as reported. */
export function exitReasonLabel(reason: string): string {
  return LABELS[reason] ?? reason;
}
