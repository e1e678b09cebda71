"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardFooter, CardHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { useToast } from "@/components/ui/toast";
import { useDeleteApp } from "@/lib/queries";
import type { AppDetail } from "@/lib/types";
import { ADMIN_ONLY } from "./admin-only";

/** The danger zone: deleting the app after its name is typed again. */
export function DeleteAppCard({ app, canEdit }: { app: AppDetail; canEdit: boolean }) {
  const [open, setOpen] = useState(false);
  const del = useDeleteApp(app.name);
  const router = useRouter();
  const toast = useToast();
  const close = () => {
    del.reset();
    setOpen(false);
  };
  return (
    <Card tone="danger">
      <CardHeader
        title="Delete app"
        description="Permanently remove the app, its processes, releases and repository."
        divider={false}
      />
      <CardFooter tone="danger">
        <span>{canEdit ? "This cannot be undone." : ADMIN_ONLY}</span>
        <Button variant="danger" onClick={() => setOpen(true)} disabled={!canEdit}>
          Delete {app.name}…
        </Button>
      </CardFooter>
      <ConfirmDialog
        open={open}
        onClose={close}
        title={`Delete ${app.name}?`}
        warning="This stops every process and deletes the app's releases, config and git repository. It cannot be undone."
        typeToConfirm={app.name}
        confirmLabel="Delete app"
        // Stays busy after success: the page navigates away.
        pending={del.isPending || del.isSuccess}
        error={del.error}
        onConfirm={() =>
          del.mutate(undefined, {
            onSuccess: () => {
              toast({ title: `Deleted ${app.name}` });
              router.replace("/apps");
            },
          })
        }
      />
    </Card>
  );
}
