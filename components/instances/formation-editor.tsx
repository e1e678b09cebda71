"use client";
import Link from "next/link";
import { useState } from "react";
import { Cog, Layers, Minus, Plus } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button, buttonClasses } from "@/components/ui/button";
import { Card, CardFooter, CardHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { cn } from "@/lib/cn";
import { useChangeFormation } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { AppDetail } from "@/lib/types";

const MAX_QUANTITY = 100;

export function formatCpu(cpu: number): string {
  return `${Number.isInteger(cpu) ? cpu : cpu.toFixed(2).replace(/0$/, "")} vCPU`;
}

export function formatMemory(mb: number): string {
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GB` : `${mb} MB`;
}

function instanceCount(n: number): string {
  return `${n} instance${n === 1 ? "" : "s"}`;
}

/** − [n] + for one process type's quantity; arrow keys in the field step too. */
function Stepper({
  type,
  value,
  onChange,
  disabled,
}: {
  type: string;
  value: number;
  onChange: (n: number) => void;
  disabled: boolean;
}) {
  const set = (n: number) => onChange(Math.min(MAX_QUANTITY, Math.max(0, Number.isFinite(n) ? Math.round(n) : 0)));
  const btn =
    "inline-flex size-8 items-center justify-center text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 disabled:cursor-not-allowed disabled:text-zinc-300 disabled:hover:bg-transparent focus-visible:outline-2 focus-visible:outline-offset-[-2px] focus-visible:outline-blue-600";
  return (
    <div
      role="group"
      aria-label={`${type} instances`}
      className="inline-flex items-center overflow-hidden rounded-md border border-zinc-300 bg-white shadow-xs"
    >
      <button
        type="button"
        className={btn}
        aria-label={`Fewer ${type} instances`}
        disabled={disabled || value <= 0}
        onClick={() => set(value - 1)}
      >
        <Minus aria-hidden className="size-3.5" />
      </button>
      <input
        type="number"
        inputMode="numeric"
        min={0}
        max={MAX_QUANTITY}
        value={value}
        disabled={disabled}
        aria-label={`Number of ${type} instances`}
        onChange={(e) => set(e.target.valueAsNumber)}
        className="h-8 w-12 [appearance:textfield] border-x border-zinc-200 text-center text-sm tabular-nums text-zinc-900 focus-visible:outline-2 focus-visible:outline-offset-[-2px] focus-visible:outline-blue-600 disabled:bg-zinc-50 disabled:text-zinc-500 [&::-webkit-inner-spin-button]:appearance-none"
      />
      <button
        type="button"
        className={btn}
        aria-label={`More ${type} instances`}
        disabled={disabled || value >= MAX_QUANTITY}
        onClick={() => set(value + 1)}
      >
        <Plus aria-hidden className="size-3.5" />
      </button>
    </div>
  );
}

/** The Formation card: quantity per process type with a stepper; changes are applied together after a confirmation. */
export function FormationEditor({ app }: { app: AppDetail | undefined }) {
  const [draft, setDraft] = useState<Record<string, number>>({});
  const [confirming, setConfirming] = useState(false);
  const change = useChangeFormation(app?.name ?? "");
  const toast = useToast();
  const base = `/apps/${encodeURIComponent(app?.name ?? "")}`;
  const canScale = atLeast(app?.role, "member");

  const formation = app?.formation ?? [];
  const changes = formation
    .filter((f) => draft[f.type] !== undefined && draft[f.type] !== f.quantity)
    .map((f) => ({ type: f.type, from: f.quantity, to: draft[f.type] ?? f.quantity }));
  const total = formation.reduce((n, f) => n + f.quantity, 0);

  const apply = () =>
    change.mutate(
      changes.map((c) => ({ type: c.type, quantity: c.to })),
      {
        onSuccess: () => {
          setConfirming(false);
          setDraft({});
          toast({
            title: "Formation updated",
            description: changes.map((c) => `${c.type}: ${c.from} → ${c.to}`).join(", "),
          });
        },
      },
    );

  return (
    <Card>
      <CardHeader
        title="Formation"
        description="Process types from your Procfile and how many instances of each run."
        actions={app && formation.length > 0 ? <Badge>{instanceCount(total)}</Badge> : undefined}
      />
      {!app ? (
        <SkeletonRows rows={2} label="Loading formation" />
      ) : formation.length === 0 ? (
        <EmptyState
          icon={Layers}
          title="No processes yet"
          description="Process types appear after the first deploy: web, worker and the rest of your Procfile."
          action={
            <Link href={`${base}/deploy`} className={buttonClasses("secondary", "sm")}>
              <Cog aria-hidden className="size-4" />
              How to deploy
            </Link>
          }
        />
      ) : (
        <>
          <Table aria-label="Formation">
            <THead>
              <tr>
                <TH>Process type</TH>
                <TH className="text-right">Instances</TH>
                <TH className="text-right">Memory</TH>
                <TH className="text-right">CPU</TH>
              </tr>
            </THead>
            <TBody>
              {formation.map((f) => {
                const value = draft[f.type] ?? f.quantity;
                const changed = value !== f.quantity;
                return (
                  <TR key={f.type} className={cn(changed && "bg-blue-50/50 hover:bg-blue-50/70")}>
                    <TD className="font-mono font-medium text-zinc-900">
                      {f.type}
                      {changed ? (
                        <span className="ml-2 font-sans text-xs font-normal text-blue-700">was {f.quantity}</span>
                      ) : null}
                    </TD>
                    <TD className="text-right">
                      <Stepper
                        type={f.type}
                        value={value}
                        disabled={!canScale || change.isPending}
                        onChange={(n) => setDraft((d) => ({ ...d, [f.type]: n }))}
                      />
                    </TD>
                    <TD className="text-right whitespace-nowrap tabular-nums">{formatMemory(f.memoryMb)}</TD>
                    <TD className="text-right whitespace-nowrap tabular-nums">{formatCpu(f.cpu)}</TD>
                  </TR>
                );
              })}
            </TBody>
          </Table>
          {!canScale ? (
            <CardFooter>Viewers can see the formation but not scale it.</CardFooter>
          ) : changes.length > 0 ? (
            <CardFooter>
              <span aria-live="polite">
                {changes.length} unsaved change{changes.length === 1 ? "" : "s"}
              </span>
              <div className="flex gap-2">
                <Button variant="ghost" size="sm" onClick={() => setDraft({})}>
                  Discard
                </Button>
                <Button size="sm" onClick={() => setConfirming(true)}>
                  Apply…
                </Button>
              </div>
            </CardFooter>
          ) : (
            <CardFooter>
              <span>Memory and CPU limits are set on the Config tab.</span>
              <Link
                href={`${base}/config`}
                className="font-medium text-zinc-700 underline underline-offset-4 hover:text-zinc-900"
              >
                Edit limits
              </Link>
            </CardFooter>
          )}
        </>
      )}
      <ConfirmDialog
        open={confirming}
        onClose={() => setConfirming(false)}
        title="Apply the new formation?"
        description="Instances start or stop right away; nothing is built or released."
        confirmLabel="Apply"
        onConfirm={apply}
        pending={change.isPending}
        error={change.error}
        tone="primary"
      >
        <ul className="space-y-1.5 text-sm">
          {changes.map((c) => (
            <li key={c.type} className="flex items-center justify-between rounded-md border border-zinc-200 px-3 py-2">
              <span className="font-mono font-medium text-zinc-900">{c.type}</span>
              <span className="tabular-nums text-zinc-700">
                {c.from} → <span className="font-semibold text-zinc-900">{c.to}</span>
                <span className="sr-only"> instances</span>
              </span>
            </li>
          ))}
        </ul>
      </ConfirmDialog>
    </Card>
  );
}
