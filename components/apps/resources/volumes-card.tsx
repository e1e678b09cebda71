"use client";
import { useState } from "react";
import { HardDrive, Plus } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter, CardHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { Table, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { useDestroyVolume, useVolumes } from "@/lib/queries";
import type { Volume } from "@/lib/types";
import { formatVolumeSize } from "@/lib/volume-form";
import { CreateVolumeForm } from "./create-volume-form";
import { VolumeBackupsCell } from "./volume-backups-cell";

/**
 * Persistent volumes of the app. Admins and owners create and destroy them here as with `berth volumes:*` (the
 * server's `app:update` rule; it checks the role again); everyone else sees the list only.
 */
export function VolumesCard({ app, canEdit, processTypes }: { app: string; canEdit: boolean; processTypes: string[] }) {
  const volumes = useVolumes(app);
  const destroy = useDestroyVolume(app);
  const toast = useToast();
  const [creating, setCreating] = useState(false);
  const [target, setTarget] = useState<Volume | null>(null);

  const createButton = canEdit ? (
    <Button size="sm" onClick={() => setCreating(true)}>
      <Plus aria-hidden className="size-4" />
      Create volume
    </Button>
  ) : null;

  return (
    <Card>
      <CardHeader
        title="Volumes"
        description={
          <>
            Persistent storage with a size limit, mounted into every instance of a process type. Back them up and
            restore with <code className="font-mono text-[13px]">berth volumes:backup</code> and{" "}
            <code className="font-mono text-[13px]">volumes:restore</code>.
          </>
        }
        actions={createButton}
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
          description={
            canEdit
              ? "Instances of this app keep no data across restarts. Create a volume for data that must stay."
              : "Instances of this app keep no data across restarts."
          }
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
              {canEdit ? (
                <TH>
                  <span className="sr-only">Actions</span>
                </TH>
              ) : null}
            </tr>
          </THead>
          <TBody>
            {volumes.data.map((v) => (
              <TR key={v.name}>
                <TD className="font-mono text-[13px] font-medium text-zinc-900">{v.name}</TD>
                <TD>{formatVolumeSize(v.sizeMb)}</TD>
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
                  <VolumeBackupsCell app={app} volume={v.name} />
                </TD>
                {canEdit ? (
                  <TD className="text-right">
                    <Button
                      size="sm"
                      variant="danger-outline"
                      onClick={() => setTarget(v)}
                      aria-label={`Destroy volume ${v.name}`}
                    >
                      Destroy
                    </Button>
                  </TD>
                ) : null}
              </TR>
            ))}
          </TBody>
        </Table>
      )}
      {!canEdit ? (
        <CardFooter>Everyone on the team can see volumes; admins and owners create and destroy them.</CardFooter>
      ) : null}
      <Dialog open={creating} onClose={() => setCreating(false)} title="Create volume" size="md">
        <CreateVolumeForm app={app} processTypes={processTypes} onDone={() => setCreating(false)} />
      </Dialog>
      <ConfirmDialog
        open={target !== null}
        onClose={() => {
          setTarget(null);
          destroy.reset();
        }}
        title={`Destroy volume ${target?.name ?? ""}?`}
        description={
          target ? `It is refused while an instance mounts it: scale ${target.processType} to 0 first.` : undefined
        }
        warning="All data on this volume is deleted. This cannot be undone."
        confirmLabel="Destroy volume"
        typeToConfirm={target?.name}
        pending={destroy.isPending}
        error={destroy.error}
        onConfirm={() => {
          if (!target) return;
          const name = target.name;
          destroy.mutate(name, {
            onSuccess: () => {
              setTarget(null);
              toast({ title: `Volume ${name} destroyed` });
            },
          });
        }}
      />
    </Card>
  );
}
