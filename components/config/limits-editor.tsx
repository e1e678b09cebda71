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
type Field = "memoryMb" | "memoryRequestMb" | "cpu" | "cpuRequest" | "diskMb" | "bandwidthMbit";
interface FieldSpec {
  field: Field;
  heading: string;
  /** Accessible name for one process type's input. */
  label: (type: string) => string;
  min: number;
  max: number;
  step: number;
  integer: boolean;
  /** The rule shown when the value is out of range. */
  rule: string;
  width: string;
}
const FIELDS: FieldSpec[] = [
  {
    field: "memoryMb",
    heading: "Memory (MB)",
    label: (t) => `Memory of ${t} in MB`,
    min: 32,
    max: 65536,
    step: 32,
    integer: true,
    rule: "Whole MB from 32 to 65536.",
    width: "w-28",
  },
  {
    // What placement counts on a node; the memory limit unless set lower.
    field: "memoryRequestMb",
    heading: "Memory request (MB)",
    label: (t) => `Memory request of ${t} in MB`,
    min: 32,
    max: 65536,
    step: 32,
    integer: true,
    rule: "Whole MB from 32 to the memory limit.",
    width: "w-28",
  },
  {
    field: "cpu",
    heading: "CPU (cores)",
    label: (t) => `CPU of ${t} in cores`,
    min: 0.05,
    max: 64,
    step: 0.05,
    integer: false,
    rule: "From 0.05 to 64 cores.",
    width: "w-24",
  },
  {
    // What placement counts on a node, apart from the limit (a cap): 0.1 unless set.
    field: "cpuRequest",
    heading: "CPU request (cores)",
    label: (t) => `CPU request of ${t} in cores`,
    min: 0,
    max: 64,
    step: 0.05,
    integer: false,
    rule: "From 0 to the CPU limit.",
    width: "w-24",
  },
  {
    field: "diskMb",
    heading: "Disk (MB)",
    label: (t) => `Disk of ${t} in MB`,
    min: 64,
    max: 1048576,
    step: 64,
    integer: true,
    rule: "Whole MB from 64 to 1048576.",
    width: "w-28",
  },
  {
    field: "bandwidthMbit",
    heading: "Bandwidth (Mbit/s)",
    label: (t) => `Bandwidth of ${t} in Mbit/s`,
    min: 1,
    max: 100000,
    step: 10,
    integer: true,
    rule: "Whole Mbit/s from 1 to 100000.",
    width: "w-28",
  },
];

type Draft = Record<string, Partial<Record<Field, string>>>;

function problem(spec: FieldSpec, v: string): string | null {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || (spec.integer && !Number.isInteger(n)) || n < spec.min || n > spec.max)
    return spec.rule;
  if ((spec.field === "cpu" || spec.field === "cpuRequest") && Math.abs(Math.round(n * 100) - n * 100) > 1e-6)
    return "In steps of 0.01.";
  return null;
}

/** A request edited above its (possibly edited) limit; an untouched request follows the limit on the server. */
function requestAboveLimit(spec: FieldSpec, f: ProcessFormation, d: Draft, value: (field: Field) => string) {
  const limit = spec.field === "memoryRequestMb" ? "memoryMb" : spec.field === "cpuRequest" ? "cpu" : null;
  if (!limit || d[f.type]?.[spec.field] === undefined) return null;
  return Number(value(spec.field)) > Number(value(limit)) + 1e-9 ? spec.rule : null;
}

/**
 * Memory, CPU, disk and bandwidth limits per process type, and the memory and CPU requests placement counts, saved
 * together through the formation API.
 */
export function LimitsEditor({ app }: { app: AppDetail }) {
  const formation = useFormation(app.name);
  const change = useChangeFormation(app.name);
  const toast = useToast();
  const [draft, setDraft] = useState<Draft>({});
  const canEdit = atLeast(app.role, "member");
  const list = formation.data ?? [];

  const value = (f: ProcessFormation, field: Field) => draft[f.type]?.[field] ?? String(f[field]);
  const updates = list
    .map((f) => {
      const u: { type: string } & Partial<Record<Field, number>> = { type: f.type };
      for (const { field } of FIELDS) {
        const n = Number(value(f, field));
        if (n !== f[field]) u[field] = n;
      }
      return u;
    })
    .filter((u) => Object.keys(u).length > 1);
  const fieldProblem = (f: ProcessFormation, spec: FieldSpec) =>
    problem(spec, value(f, spec.field)) ?? requestAboveLimit(spec, f, draft, (field) => value(f, field));
  const invalid = list.some((f) => FIELDS.some((spec) => fieldProblem(f, spec)));

  const edit = (type: string, field: Field, v: string) =>
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
          description="Limits: memory, CPU, writable disk and network bandwidth (each way) of every instance of a process type. Requests: the memory and CPU a node sets aside for each instance when placing it (memory: the limit unless lower; CPU: 0.1 unless set)."
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
                {FIELDS.map((spec) => (
                  <TH key={spec.field}>{spec.heading}</TH>
                ))}
              </tr>
            </THead>
            <TBody>
              {list.map((f) => (
                <TR key={f.type}>
                  <TD className="font-mono font-medium text-zinc-900">{f.type}</TD>
                  {FIELDS.map((spec) => {
                    const v = value(f, spec.field);
                    const err = fieldProblem(f, spec);
                    const errId = `${spec.field}-${f.type}-error`;
                    return (
                      <TD key={spec.field} className="py-2 align-top">
                        <div className={spec.width}>
                          <Input
                            type="number"
                            inputMode={spec.integer ? "numeric" : "decimal"}
                            min={spec.min}
                            max={spec.max}
                            step={spec.step}
                            value={v}
                            disabled={!canEdit}
                            onChange={(e) => edit(f.type, spec.field, e.target.value)}
                            aria-label={spec.label(f.type)}
                            invalid={Boolean(err)}
                            aria-describedby={err ? errId : undefined}
                            className="h-8 tabular-nums"
                          />
                        </div>
                        {err ? (
                          <p id={errId} className="mt-1 text-[13px] text-red-600">
                            {err}
                          </p>
                        ) : null}
                      </TD>
                    );
                  })}
                </TR>
              ))}
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
