"use client";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { useToast } from "@/components/ui/toast";
import { useRollback } from "@/lib/queries";
import type { Release } from "@/lib/types";
import { shortImage } from "./release-status";

/** Confirms a rollback to `target`: a new release made from its image and config. */
export function RollbackDialog({
  app,
  target,
  latest,
  onClose,
}: {
  app: string;
  target: Release | null;
  latest: number;
  onClose: () => void;
}) {
  const rollback = useRollback(app);
  const toast = useToast();
  const run = () => {
    if (!target) return;
    rollback.mutate(target.version, {
      onSuccess: (r) => {
        toast({ title: `Rolled back to ${target.name}`, description: `Released as ${r.name}.` });
        onClose();
      },
    });
  };
  return (
    <ConfirmDialog
      open={target !== null}
      onClose={() => {
        rollback.reset();
        onClose();
      }}
      title={target ? `Roll back to ${target.name}?` : "Roll back"}
      description={
        target
          ? `This creates v${latest + 1} with the image and config vars of ${target.name}, and deploys it.`
          : undefined
      }
      size="md"
      tone="primary"
      confirmLabel={`Roll back to ${target?.name ?? ""}`}
      onConfirm={run}
      pending={rollback.isPending}
      error={rollback.error}
    >
      {target ? (
        <div className="space-y-3 text-sm">
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5 rounded-md border border-zinc-200 bg-zinc-50 px-3 py-2.5">
            <dt className="text-zinc-500">Image</dt>
            <dd className="truncate font-mono text-[13px] text-zinc-800" title={target.image}>
              {shortImage(target.image)}
            </dd>
            <dt className="text-zinc-500">Config vars</dt>
            <dd className="text-zinc-800">{target.configKeys.length}</dd>
            <dt className="text-zinc-500">Description</dt>
            <dd className="truncate text-zinc-800">{target.description || "—"}</dd>
          </dl>
          <p className="text-zinc-600">Config vars changed since then go back to their values in {target.name}.</p>
        </div>
      ) : null}
    </ConfirmDialog>
  );
}
