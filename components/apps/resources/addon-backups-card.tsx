"use client";
import { useState } from "react";
import { Archive, Download } from "lucide-react";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter, CardHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState, FormError } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { Table, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { formatBytes } from "@/components/metrics/series";
import { fullTime, relativeTime } from "@/lib/format";
import {
  backupDownloadUrl,
  type AddonBackup,
  useAddonBackups,
  useCaptureBackup,
  useRestoreBackup,
} from "@/lib/addon-backup-queries";
import type { Addon } from "@/lib/types";

const STATE_TONE: Record<string, BadgeTone> = { capturing: "amber", completed: "green", failed: "red" };

function BackupRow({
  app,
  b,
  canEdit,
  onRestore,
}: {
  app: string;
  b: AddonBackup;
  canEdit: boolean;
  onRestore: () => void;
}) {
  return (
    <TR>
      <TD className="font-mono text-[13px]">{b.id}</TD>
      <TD>
        <time dateTime={b.createdAt} title={fullTime(b.createdAt)}>
          {relativeTime(b.createdAt)}
        </time>
      </TD>
      <TD>{b.state === "completed" ? formatBytes(b.sizeBytes) : <span className="text-zinc-400">—</span>}</TD>
      <TD>
        <Badge tone={STATE_TONE[b.state] ?? "neutral"} dot>
          <span data-testid={`backup-state-${b.id}`}>{b.state}</span>
        </Badge>
        {b.error ? <div className="mt-1 max-w-72 text-xs text-red-700">{b.error}</div> : null}
      </TD>
      <TD>{b.origin}</TD>
      {canEdit ? (
        <TD className="text-right whitespace-nowrap">
          {b.state === "completed" ? (
            <span className="inline-flex gap-2">
              <a
                href={backupDownloadUrl(app, b.id)}
                download
                className="inline-flex items-center gap-1 rounded-md border border-zinc-300 px-2 py-1 text-xs font-medium text-zinc-700 hover:bg-zinc-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-zinc-900"
                aria-label={`Download ${b.id}`}
              >
                <Download aria-hidden className="size-3.5" />
                Download
              </a>
              <Button size="sm" variant="danger-outline" onClick={onRestore} aria-label={`Restore ${b.id}`}>
                Restore
              </Button>
            </span>
          ) : null}
        </TD>
      ) : null}
    </TR>
  );
}

/**
 * Backups of one add-on: the list (polled while a capture runs), Capture, Download and Restore (the shared confirm
 * dialog: type the app's name). Members and above; viewers see the list only, and the API refuses them anyway.
 */
export function AddonBackupsCard({ app, addon, canEdit }: { app: string; addon: Addon; canEdit: boolean }) {
  const backups = useAddonBackups(app, addon.name);
  const capture = useCaptureBackup(app, addon.name);
  const restore = useRestoreBackup(app, addon.name);
  const toast = useToast();
  const [target, setTarget] = useState<AddonBackup | null>(null);
  const capturing = backups.data?.some((b) => b.state === "capturing") ?? false;

  const captureButton =
    canEdit && addon.state === "available" ? (
      <Button
        size="sm"
        variant="secondary"
        loading={capture.isPending}
        disabled={capturing}
        onClick={() =>
          capture.mutate(undefined, { onSuccess: (b) => toast({ title: `Capturing ${b.id} of ${addon.name}` }) })
        }
        aria-label={`Capture a backup of ${addon.name}`}
      >
        <Archive aria-hidden className="size-4" />
        {capturing ? "Capturing…" : "Capture backup"}
      </Button>
    ) : null;

  return (
    <Card>
      <CardHeader
        title={`Backups of ${addon.name}`}
        description="Captured daily and on demand, kept in the platform's data dir. Restoring replaces the add-on's data."
        actions={captureButton}
      />
      {capture.error ? (
        <CardBody>
          <FormError error={capture.error} />
        </CardBody>
      ) : null}
      {backups.isPending ? (
        <CardBody>
          <SkeletonRows rows={2} label={`Loading backups of ${addon.name}`} />
        </CardBody>
      ) : backups.isError ? (
        <ErrorState error={backups.error} title="Could not load backups" onRetry={() => void backups.refetch()} />
      ) : backups.data.length === 0 ? (
        <EmptyState
          icon={Archive}
          title="No backups yet"
          description={canEdit ? "Capture one now, or wait for the daily backup." : "The daily backup has not run yet."}
        />
      ) : (
        <Table aria-label={`Backups of ${addon.name}`}>
          <THead>
            <tr>
              <TH>ID</TH>
              <TH>Created</TH>
              <TH>Size</TH>
              <TH>State</TH>
              <TH>Origin</TH>
              {canEdit ? (
                <TH>
                  <span className="sr-only">Actions</span>
                </TH>
              ) : null}
            </tr>
          </THead>
          <TBody>
            {backups.data.map((b) => (
              <BackupRow key={b.id} app={app} b={b} canEdit={canEdit} onRestore={() => setTarget(b)} />
            ))}
          </TBody>
        </Table>
      )}
      {!canEdit ? (
        <CardFooter>Viewers can see backups; members and above capture, download and restore them.</CardFooter>
      ) : null}
      <ConfirmDialog
        open={target !== null}
        onClose={() => {
          setTarget(null);
          restore.reset();
        }}
        title={`Restore ${addon.name} from ${target?.id ?? ""}?`}
        description={target ? `Captured ${fullTime(target.createdAt)}.` : undefined}
        warning={
          addon.kind === "redis"
            ? "Every key is replaced by the backup's; Redis restarts (a few seconds without connections)."
            : "Every table in the backup is dropped and re-created with the backup's rows, in one transaction."
        }
        confirmLabel="Restore"
        typeToConfirm={app}
        pending={restore.isPending}
        error={restore.error}
        onConfirm={() => {
          if (!target) return;
          const id = target.id;
          restore.mutate(id, {
            onSuccess: () => {
              setTarget(null);
              toast({ title: `${addon.name} restored from ${id}` });
            },
          });
        }}
      />
    </Card>
  );
}
