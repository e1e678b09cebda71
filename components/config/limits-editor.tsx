"use client";
import { useState, type FormEvent } from "react";
import { Gauge } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Card, CardFooter, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState, FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { useChangeFormation, useFormation } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { AppDetail, ProcessFormation } from "@/lib/types";

// Mirrors LIMITS in server/formation/formation.ts (the server checks again).
const MEMORY = { min: 32, max: 65536 };
const CPU = { min: 0.05, max: 64 };

type Draft = Record<string, { memoryMb?: string; cpu?: string }>;

function memoryProblem(v: string): string | null {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < MEMORY.min || n > MEMORY.max)
    return `Whole MB from ${MEMORY.min} to ${MEMORY.max}.`;
  return null;
}

function cpuProblem(v: string): string | null {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < CPU.min || n > CPU.max)
    return `From ${CPU.min} to ${CPU.max} cores.`;
  if (Math.abs(Math.round(n * 100) - n * 100) > 1e-6) return "In steps of 0.01.";
  return null;
}

/** Memory and CPU limits per process type, saved together through the formation API. */
export function LimitsEditor({ app }: { app: AppDetail }) {
  const formation = useFormation(app.name);
  const change = useChangeFormation(app.name);
  const toast = useToast();
  const [draft, setDraft] = useState<Draft>({});
  const canEdit = atLeast(app.role, "member");
  const list = formation.data ?? [];

  const value = (f: ProcessFormation, field: "memoryMb" | "cpu") => draft[f.type]?.[field] ?? String(f[field]);
  const updates = list
    .map((f) => {
      const memoryMb = Number(value(f, "memoryMb"));
      const cpu = Number(value(f, "cpu"));
      return {
        type: f.type,
        ...(memoryMb !== f.memoryMb ? { memoryMb } : {}),
        ...(cpu !== f.cpu ? { cpu } : {}),
      };
    })
    .filter((u) => "memoryMb" in u || "cpu" in u);
  const invalid = list.some((f) => memoryProblem(value(f, "memoryMb")) || cpuProblem(value(f, "cpu")));

  const edit = (type: string, field: "memoryMb" | "cpu", v: string) =>
    setDraft((d) => ({ ...d, [type]: { ...d[type], [field]: v } }));

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (invalid || updates.length === 0) return;
    change.mutate(updates, {
      onSuccess: () => {
        setDraft({});
        toast({ title: "Limits saved", description: "Instances restart with the new limits." });
      },
    });
  };

  return (
    <Card>
      <form onSubmit={onSubmit} noValidate aria-label="Process limits">
        <CardHeader
          title="Limits per process type"
          description="Memory and CPU each instance of a process type may use."
        />
        {formation.isPending ? (
          <SkeletonRows rows={2} label="Loading limits" />
        ) : formation.isError ? (
          <ErrorState
            error={formation.error}
            title="Could not load the formation"
            onRetry={() => void formation.refetch()}
          />
        ) : list.length === 0 ? (
          <EmptyState
            icon={Gauge}
            title="No process types yet"
            description="Limits can be set once the first deploy has created process types."
          />
        ) : (
          <Table aria-label="Limits per process type">
            <THead>
              <tr>
                <TH>Process type</TH>
                <TH>Memory (MB)</TH>
                <TH>CPU (cores)</TH>
              </tr>
            </THead>
            <TBody>
              {list.map((f) => {
                const mem = value(f, "memoryMb");
                const cpu = value(f, "cpu");
                const memErr = memoryProblem(mem);
                const cpuErr = cpuProblem(cpu);
                return (
                  <TR key={f.type}>
                    <TD className="font-mono font-medium text-zinc-900">{f.type}</TD>
                    <TD className="py-2 align-top">
                      <div className="w-32">
                        <Input
                          type="number"
                          inputMode="numeric"
                          min={MEMORY.min}
                          max={MEMORY.max}
                          step={32}
                          value={mem}
                          disabled={!canEdit}
                          onChange={(e) => edit(f.type, "memoryMb", e.target.value)}
                          aria-label={`Memory of ${f.type} in MB`}
                          invalid={Boolean(memErr)}
                          aria-describedby={memErr ? `mem-${f.type}-error` : undefined}
                          className="h-8 tabular-nums"
                        />
                      </div>
                      {memErr ? (
                        <p id={`mem-${f.type}-error`} className="mt-1 text-[13px] text-red-600">
                          {memErr}
                        </p>
                      ) : null}
                    </TD>
                    <TD className="py-2 align-top">
                      <div className="w-28">
                        <Input
                          type="number"
                          inputMode="decimal"
                          min={CPU.min}
                          max={CPU.max}
                          step={0.05}
                          value={cpu}
                          disabled={!canEdit}
                          onChange={(e) => edit(f.type, "cpu", e.target.value)}
                          aria-label={`CPU of ${f.type} in cores`}
                          invalid={Boolean(cpuErr)}
                          aria-describedby={cpuErr ? `cpu-${f.type}-error` : undefined}
                          className="h-8 tabular-nums"
                        />
                      </div>
                      {cpuErr ? (
                        <p id={`cpu-${f.type}-error`} className="mt-1 text-[13px] text-red-600">
                          {cpuErr}
                        </p>
                      ) : null}
                    </TD>
                  </TR>
                );
              })}
            </TBody>
          </Table>
        )}
        {change.error ? (
          <div className="px-5 pb-4">
            <FormError error={change.error} />
          </div>
        ) : null}
        {list.length === 0 ? null : !canEdit ? (
          <CardFooter>Viewers can see the limits; members and above can change them.</CardFooter>
        ) : (
          <CardFooter>
            <span>
              {updates.length
                ? `${updates.length} process type${updates.length === 1 ? "" : "s"} changed`
                : "Changing limits never builds or releases."}
            </span>
            <div className="flex gap-2">
              {updates.length ? (
                <Button variant="ghost" size="sm" onClick={() => setDraft({})} disabled={change.isPending}>
                  Discard
                </Button>
              ) : null}
              <Button type="submit" size="sm" loading={change.isPending} disabled={invalid || updates.length === 0}>
                Save limits
              </Button>
            </div>
          </CardFooter>
        )}
      </form>
    </Card>
  );
}
