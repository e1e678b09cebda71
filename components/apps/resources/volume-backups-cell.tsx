"use client";
// The newest backup of a volume in the Resources tab's volumes table (backups are made with `berth volumes:backup`).
import { Badge } from "@/components/ui/badge";
import { formatBytes } from "@/components/metrics/series";
import { fullTime, relativeTime } from "@/lib/format";
import { useVolumeBackups } from "@/lib/volume-backup-queries";

const BACKUP_TONE = { capturing: "amber", completed: "green", failed: "red" } as const;

/** The newest backup of a volume and how many there are (made with `berth volumes:backup`). */
export function VolumeBackupsCell({ app, volume }: { app: string; volume: string }) {
  const backups = useVolumeBackups(app, volume);
  if (backups.isPending) return <span className="text-zinc-400">Loading…</span>;
  if (backups.isError)
    return (
      <button
        type="button"
        onClick={() => void backups.refetch()}
        className="text-xs text-red-700 underline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-zinc-900"
      >
        Could not load; retry
      </button>
    );
  const [latest] = backups.data;
  if (!latest) return <span className="text-zinc-400">None</span>;
  const tone = BACKUP_TONE[latest.state as keyof typeof BACKUP_TONE] ?? "neutral";
  return (
    <span className="inline-flex flex-wrap items-center gap-2" data-testid={`volume-backups-${volume}`}>
      <Badge tone={tone} dot>
        {latest.state}
      </Badge>
      <time dateTime={latest.createdAt} title={`${latest.id}, ${fullTime(latest.createdAt)}`}>
        {relativeTime(latest.createdAt)}
      </time>
      {latest.state === "completed" ? <span className="text-zinc-500">{formatBytes(latest.sizeBytes)}</span> : null}
      {backups.data.length > 1 ? <span className="text-zinc-500">({backups.data.length} in all)</span> : null}
    </span>
  );
}
