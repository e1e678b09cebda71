"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter, CardHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Select } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { useToast } from "@/components/ui/toast";
import { rememberTeam } from "@/lib/current-team";
import { useTeams, useUpdateApp } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { AppDetail } from "@/lib/types";
import { ADMIN_ONLY } from "./admin-only";

/** Moves the app to another team where the user is admin or owner (they need admin rights in both). */
export function TransferCard({ app, canEdit }: { app: AppDetail; canEdit: boolean }) {
  const teams = useTeams();
  const update = useUpdateApp(app.name);
  const toast = useToast();
  const targets = (teams.data ?? []).filter((t) => t.name !== app.team && atLeast(t.role, "admin"));
  const [target, setTarget] = useState("");
  const [confirming, setConfirming] = useState(false);
  const chosen = target || targets[0]?.name || "";

  const transfer = () =>
    update.mutate(
      { team: chosen },
      {
        onSuccess: (updated) => {
          setConfirming(false);
          rememberTeam(updated.team);
          toast({ title: `Moved ${app.name} to ${updated.team}` });
        },
      },
    );

  return (
    <Card>
      <CardHeader
        title="Transfer to another team"
        description={`Move ${app.name} with its releases, config and history. You need admin rights in both teams.`}
      />
      <CardBody>
        {teams.isPending ? (
          <Skeleton className="h-9 w-64" />
        ) : targets.length === 0 ? (
          <p className="text-sm text-zinc-500">There is no other team where you are an admin or owner.</p>
        ) : (
          <div className="flex flex-wrap items-end gap-3">
            <Field id="transfer-team" label="New team" className="w-full max-w-xs">
              <Select id="transfer-team" value={chosen} onChange={(e) => setTarget(e.target.value)} disabled={!canEdit}>
                {targets.map((t) => (
                  <option key={t.id} value={t.name}>
                    {t.name}
                  </option>
                ))}
              </Select>
            </Field>
            <Button variant="secondary" onClick={() => setConfirming(true)} disabled={!canEdit || !chosen}>
              Transfer…
            </Button>
          </div>
        )}
      </CardBody>
      {!canEdit ? <CardFooter>{ADMIN_ONLY}</CardFooter> : null}
      <ConfirmDialog
        open={confirming}
        onClose={() => {
          update.reset();
          setConfirming(false);
        }}
        title={`Transfer ${app.name} to ${chosen}?`}
        description={`Members of ${app.team} lose access unless they are also in ${chosen}.`}
        tone="primary"
        confirmLabel="Transfer app"
        onConfirm={transfer}
        pending={update.isPending}
        error={update.error}
      />
    </Card>
  );
}
