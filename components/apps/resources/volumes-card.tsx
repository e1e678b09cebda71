"use client";
import { HardDrive } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { Table, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { formatBytes } from "@/components/metrics/series";
import { fullTime, relativeTime } from "@/lib/format";
import { useVolumes } from "@/lib/queries";
import { useVolumeBackups } from "@/lib/volume-backup-queries";

function size(mb: number): string {
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GiB` : `${mb} MiB`;
}

const BACKUP_TONE = { capturing: "amber", completed: "green", failed: "red" } as const;

/** The newest backup of a volume and how many there are (made with `berth volumes:backup`). */
function BackupsCell({ app, volume }: { app: string; volume: string }) {
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

/** Persistent volumes of the app (created and destroyed with `berth volumes:*`; listed here read-only). */
export function VolumesCard({ app }: { app: string }) {
  const volumes = useVolumes(app);
  return (
    <Card>
      <CardHeader
        title="Volumes"
        description={
          <>
            Persistent storage mounted into every instance of a process type. Manage them with{" "}
            <code className="font-mono text-[13px]">berth volumes:create</code>; back them up and restore with{" "}
            <code className="font-mono text-[13px]">berth volumes:backup</code> and{" "}
            <code className="font-mono text-[13px]">volumes:restore</code>.
          </>
        }
      />
      {volumes.isPending ? (
        <CardBody>
          <SkeletonRows rows={2} label="Loading volumes" />
        </CardBody>
      ) : volumes.isError ? (
        <ErrorState error={volumes.error} title="Could not load volumes" onRetry={() => void volumes.refetch()} />
      ) : volumes.data.length === 0 ? (
        <EmptyState
          icon={HardDrive}
          title="No volumes"
          description="Instances of this app keep no data across restarts."
        />
      ) : (
        <Table aria-label="Volumes">
          <THead>
            <tr>
              <TH>Name</TH>
              <TH>Size</TH>
              <TH>Mount</TH>
              <TH>Process type</TH>
              <TH>Node</TH>
              <TH>State</TH>
              <TH>Latest backup</TH>
            </tr>
          </THead>
          <TBody>
            {volumes.data.map((v) => (
              <TR key={v.name}>
                <TD className="font-mono text-[13px] font-medium text-zinc-900">{v.name}</TD>
                <TD>{size(v.sizeMb)}</TD>
                <TD className="font-mono text-[13px]">{v.mountPath}</TD>
                <TD className="font-mono text-[13px]">{v.processType}</TD>
                <TD>{v.node ?? <span className="text-zinc-400">—</span>}</TD>
                <TD>
                  {/* A volume is placed on a node when its first instance starts, and stays there. */}
                  {v.node ? (
                    <Badge tone="green" dot>
                      placed
                    </Badge>
                  ) : (
                    <Badge tone="amber" dot>
                      not placed yet
                    </Badge>
                  )}
                </TD>
                <TD>
                  <BackupsCell app={app} volume={v.name} />
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      )}
    </Card>
  );
}
