"use client";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Braces, Eye, EyeOff, Lock, Pencil, Plus, Trash2, Undo2 } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardFooter, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState, FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useToast } from "@/components/ui/toast";
import { cn } from "@/lib/cn";
import { useChangeConfig, useConfigVars } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { AppDetail, ConfigVar } from "@/lib/types";
import { MASK, looksSecret } from "./secret";

const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const RESERVED = new Set(["PORT", "BERTH_APP", "BERTH_RELEASE", "BERTH_PROCESS_TYPE", "BERTH_INSTANCE"]);
const MAX_VALUE = 32 * 1024;

interface NewVar {
  id: number;
  key: string;
  value: string;
}

function keyProblem(
  key: string,
  existing: Map<string, ConfigVar>,
  removed: Set<string>,
  others: string[],
): string | null {
  if (!key) return "Give the variable a name.";
  if (!KEY.test(key)) return "Letters, digits and _; not starting with a digit.";
  if (RESERVED.has(key)) return `${key} is set by the platform.`;
  if (key === "__proto__") return "__proto__ cannot be used as a name.";
  if (removed.has(key)) return `${key} is marked for removal above; undo that to keep it.`;
  if (existing.has(key)) return `${key} already exists; edit it above.`;
  if (others.includes(key)) return `${key} is listed twice.`;
  return null;
}

function valueProblem(value: string): string | null {
  if (value.length > MAX_VALUE) return "Values are at most 32 KiB.";
  if (value.includes("\u0000")) return "Values cannot contain NUL characters.";
  return null;
}

/** A value as shown when not being edited: masked when secret-looking and not revealed. */
function ShownValue({ v, revealed }: { v: ConfigVar; revealed: boolean }) {
  if (v.masked) {
    return (
      <span
        className="inline-flex items-center gap-1.5 font-mono text-[13px] text-zinc-400"
        title="Hidden for your role"
      >
        {MASK}
        <Lock aria-hidden className="size-3.5" />
        <span className="sr-only">(hidden for your role)</span>
      </span>
    );
  }
  if (looksSecret(v.key) && !revealed) {
    return (
      <span data-testid={`value-${v.key}`} className="font-mono text-[13px] text-zinc-400">
        {MASK}
        <span className="sr-only"> (masked)</span>
      </span>
    );
  }
  return (
    <code data-testid={`value-${v.key}`} className="block truncate font-mono text-[13px] text-zinc-800" title={v.value}>
      {v.value === "" ? <span className="text-zinc-400">(empty)</span> : v.value}
    </code>
  );
}

/** The config vars editor: edit, add and remove several vars, then save them in one change (one release). */
export function ConfigEditor({ app }: { app: AppDetail }) {
  const vars = useConfigVars(app.name);
  const change = useChangeConfig(app.name);
  const toast = useToast();
  const canEdit = atLeast(app.role, "member");

  const [edits, setEdits] = useState<Record<string, string>>({});
  const [removed, setRemoved] = useState<Set<string>>(new Set());
  const [added, setAdded] = useState<NewVar[]>([]);
  const [revealed, setRevealed] = useState<Set<string>>(new Set());
  const [touched, setTouched] = useState(false);
  const nextId = useRef(1);
  const focusNew = useRef<number | null>(null);

  useEffect(() => {
    if (focusNew.current === null) return;
    document.getElementById(`new-key-${focusNew.current}`)?.focus();
    focusNew.current = null;
  }, [added.length]);

  const list = vars.data ?? [];
  const existing = new Map(list.map((v) => [v.key, v]));
  const set: Record<string, string> = {};
  for (const [k, val] of Object.entries(edits)) if (existing.get(k)?.value !== val) set[k] = val;
  const problems = added.map((n, i) => ({
    key: keyProblem(
      n.key,
      existing,
      removed,
      added.slice(0, i).map((o) => o.key),
    ),
    value: valueProblem(n.value),
  }));
  const editProblems = Object.fromEntries(Object.entries(edits).map(([k, v]) => [k, valueProblem(v)]));
  for (const n of added) if (n.key) set[n.key] = n.value;
  const unset = [...removed];
  const dirty = Object.keys(set).length > 0 || unset.length > 0;
  const invalid = problems.some((p) => p.key || p.value) || Object.values(editProblems).some(Boolean);

  const reset = () => {
    setEdits({});
    setRemoved(new Set());
    setAdded([]);
    setTouched(false);
    change.reset();
  };

  const addRow = () => {
    const id = nextId.current++;
    focusNew.current = id;
    setAdded((a) => [...a, { id, key: "", value: "" }]);
  };

  const toggle = (s: Set<string>, k: string) => {
    const n = new Set(s);
    if (n.has(k)) n.delete(k);
    else n.add(k);
    return n;
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (invalid || !dirty) return;
    const nSet = Object.keys(set).length;
    change.mutate(
      { set, unset },
      {
        onSuccess: (res) => {
          reset();
          setRevealed(new Set());
          const parts = [nSet ? `${nSet} set` : "", unset.length ? `${unset.length} removed` : ""]
            .filter(Boolean)
            .join(", ");
          toast({
            title: `Config saved (${parts})`,
            description: res.release !== null ? `Released as v${res.release}.` : "It applies from the first deploy.",
          });
        },
      },
    );
  };

  const changeCount = Object.keys(set).length + unset.length;

  return (
    <Card>
      <form onSubmit={onSubmit} noValidate aria-label="Config vars">
        <CardHeader
          title="Config vars"
          description="Environment variables of every process. Saving applies all changes at once as one new release."
          actions={
            <Button
              variant="secondary"
              size="sm"
              onClick={addRow}
              disabled={!canEdit || vars.isPending || vars.isError}
            >
              <Plus aria-hidden className="size-4" />
              Add variable
            </Button>
          }
        />
        {vars.isPending ? (
          <SkeletonRows rows={3} label="Loading config vars" />
        ) : vars.isError ? (
          <ErrorState error={vars.error} title="Could not load config vars" onRetry={() => void vars.refetch()} />
        ) : list.length === 0 && added.length === 0 ? (
          <EmptyState
            icon={Braces}
            title="No config vars yet"
            description="Add database URLs, API keys and feature flags here; processes get them as environment variables."
            action={
              canEdit ? (
                <Button variant="secondary" size="sm" onClick={addRow}>
                  <Plus aria-hidden className="size-4" />
                  Add variable
                </Button>
              ) : undefined
            }
          />
        ) : (
          <ul aria-label="Variables" className="divide-y divide-zinc-100">
            {list.map((v) => {
              const editing = v.key in edits;
              const isRemoved = removed.has(v.key);
              const secret = looksSecret(v.key) && !v.masked;
              const isRevealed = revealed.has(v.key);
              const problem = editProblems[v.key];
              return (
                <li
                  key={v.key}
                  data-testid={`config-row-${v.key}`}
                  className={cn(
                    "flex flex-col gap-2 px-5 py-3 sm:flex-row sm:items-center sm:gap-4",
                    isRemoved && "bg-red-50/60",
                    editing && "bg-blue-50/40",
                  )}
                >
                  <div className="flex min-w-0 items-center gap-2 sm:w-64 sm:shrink-0">
                    <span
                      className={cn(
                        "truncate font-mono text-[13px] font-medium text-zinc-900",
                        isRemoved && "text-red-700 line-through",
                      )}
                      title={v.key}
                    >
                      {v.key}
                    </span>
                    {v.buildTime ? <Badge tone="blue">build</Badge> : null}
                  </div>
                  <div className="min-w-0 flex-1">
                    {isRemoved ? (
                      <span className="text-[13px] text-red-700">Removed when you save</span>
                    ) : editing ? (
                      <>
                        <Input
                          value={edits[v.key]}
                          onChange={(e) => setEdits((x) => ({ ...x, [v.key]: e.target.value }))}
                          aria-label={`Value of ${v.key}`}
                          invalid={Boolean(problem)}
                          autoComplete="off"
                          spellCheck={false}
                          className="h-8 font-mono text-[13px]"
                          autoFocus
                        />
                        {problem ? <p className="mt-1 text-[13px] text-red-600">{problem}</p> : null}
                      </>
                    ) : (
                      <ShownValue v={v} revealed={isRevealed} />
                    )}
                  </div>
                  <div className="flex shrink-0 items-center gap-1 self-end sm:self-auto">
                    {isRemoved || editing ? (
                      <Button
                        variant="ghost"
                        size="sm"
                        onClick={() => {
                          if (isRemoved) setRemoved((r) => toggle(r, v.key));
                          else
                            setEdits((x) => {
                              const { [v.key]: _, ...rest } = x;
                              return rest;
                            });
                        }}
                        aria-label={isRemoved ? `Keep ${v.key}` : `Cancel editing ${v.key}`}
                      >
                        <Undo2 aria-hidden className="size-4" />
                        Undo
                      </Button>
                    ) : (
                      <>
                        {secret ? (
                          <Button
                            variant="ghost"
                            size="icon"
                            aria-pressed={isRevealed}
                            aria-label={isRevealed ? `Hide value of ${v.key}` : `Reveal value of ${v.key}`}
                            title={isRevealed ? "Hide" : "Reveal"}
                            onClick={() => setRevealed((r) => toggle(r, v.key))}
                          >
                            {isRevealed ? (
                              <EyeOff aria-hidden className="size-4" />
                            ) : (
                              <Eye aria-hidden className="size-4" />
                            )}
                          </Button>
                        ) : null}
                        <Button
                          variant="ghost"
                          size="icon"
                          aria-label={`Edit ${v.key}`}
                          title="Edit"
                          disabled={!canEdit || v.masked}
                          onClick={() => setEdits((x) => ({ ...x, [v.key]: v.value }))}
                        >
                          <Pencil aria-hidden className="size-4" />
                        </Button>
                        <Button
                          variant="ghost"
                          size="icon"
                          aria-label={`Remove ${v.key}`}
                          title="Remove"
                          disabled={!canEdit}
                          onClick={() => setRemoved((r) => toggle(r, v.key))}
                          className="hover:bg-red-50 hover:text-red-700"
                        >
                          <Trash2 aria-hidden className="size-4" />
                        </Button>
                      </>
                    )}
                  </div>
                </li>
              );
            })}
            {added.map((n, i) => {
              const p = problems[i] ?? { key: null, value: null };
              const showKey = (touched || n.key !== "") && p.key;
              return (
                <li
                  key={n.id}
                  className="flex flex-col gap-2 bg-emerald-50/40 px-5 py-3 sm:flex-row sm:items-start sm:gap-4"
                >
                  <div className="sm:w-64 sm:shrink-0">
                    <Input
                      id={`new-key-${n.id}`}
                      value={n.key}
                      placeholder="NAME"
                      onChange={(e) =>
                        setAdded((a) => a.map((o) => (o.id === n.id ? { ...o, key: e.target.value.trim() } : o)))
                      }
                      aria-label={`Name of new variable ${i + 1}`}
                      invalid={Boolean(showKey)}
                      aria-describedby={showKey ? `new-key-${n.id}-error` : undefined}
                      autoComplete="off"
                      spellCheck={false}
                      className="h-8 font-mono text-[13px]"
                    />
                    {showKey ? (
                      <p id={`new-key-${n.id}-error`} className="mt-1 text-[13px] text-red-600">
                        {p.key}
                      </p>
                    ) : null}
                  </div>
                  <div className="min-w-0 flex-1">
                    <Input
                      value={n.value}
                      placeholder="value"
                      onChange={(e) =>
                        setAdded((a) => a.map((o) => (o.id === n.id ? { ...o, value: e.target.value } : o)))
                      }
                      aria-label={`Value of new variable ${i + 1}`}
                      invalid={Boolean(p.value)}
                      autoComplete="off"
                      spellCheck={false}
                      className="h-8 font-mono text-[13px]"
                    />
                    {p.value ? <p className="mt-1 text-[13px] text-red-600">{p.value}</p> : null}
                  </div>
                  <div className="flex shrink-0 justify-end">
                    <Button
                      variant="ghost"
                      size="icon"
                      aria-label={`Discard new variable ${i + 1}`}
                      title="Discard"
                      onClick={() => setAdded((a) => a.filter((o) => o.id !== n.id))}
                    >
                      <Trash2 aria-hidden className="size-4" />
                    </Button>
                  </div>
                </li>
              );
            })}
          </ul>
        )}
        {change.error ? (
          <div className="px-5 pb-4">
            <FormError error={change.error} />
          </div>
        ) : null}
        {!canEdit ? (
          <CardFooter>
            Viewers see config keys; values that look secret stay hidden. Members and above can edit.
          </CardFooter>
        ) : dirty || added.length > 0 ? (
          <CardFooter>
            <span aria-live="polite">
              {changeCount} unsaved change{changeCount === 1 ? "" : "s"}
              {app.currentRelease !== null ? "; saving makes one new release" : ""}
            </span>
            <div className="flex gap-2">
              <Button variant="ghost" size="sm" onClick={reset} disabled={change.isPending}>
                Discard
              </Button>
              <Button type="submit" size="sm" loading={change.isPending} disabled={!dirty}>
                Save changes
              </Button>
            </div>
          </CardFooter>
        ) : list.length > 0 ? (
          <CardFooter>
            {list.length} variable{list.length === 1 ? "" : "s"}. Values of names with KEY, TOKEN, SECRET, PASSWORD or
            _URL are masked until revealed.
          </CardFooter>
        ) : null}
      </form>
    </Card>
  );
}
