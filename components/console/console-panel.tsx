"use client";
// The Console tab's body: pick a running instance, open a shell in it (docs/console.md "In the dashboard"). The
// server authorizes every session (app:exec, member and up); hiding the console from viewers here is a convenience.
import Link from "next/link";
import { useRef, useState } from "react";
import { Lock, Play, SquareTerminal, X } from "lucide-react";
import { Button, buttonClasses } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/input";
import { SkeletonRows } from "@/components/ui/skeleton";
import { atLeast } from "@/lib/roles";
import { useInstances } from "@/lib/queries";
import type { AppDetail, Instance } from "@/lib/types";
import { shortInstanceId } from "@/components/instances/instance-id";
import type { ConsoleOutcome } from "./console-outcome";
import { ConsoleTerminal } from "./console-terminal";

type Session =
  | { phase: "idle" }
  | { phase: "connecting" | "open"; key: number; instance: string }
  | { phase: "closed"; key: number; instance: string; outcome: ConsoleOutcome };

/** The instance a new session defaults to: the first running web instance, else the first running one. */
export function defaultInstance(running: Instance[]): string | undefined {
  return (running.find((i) => i.processType === "web") ?? running[0])?.id;
}

/** Console tab: instance picker, terminal, session status and the way out. */
export function ConsolePanel({ app }: { app: AppDetail }) {
  const instances = useInstances(app.name);
  const [session, setSession] = useState<Session>({ phase: "idle" });
  const [picked, setPicked] = useState<string | undefined>();
  const closeRef = useRef<(() => void) | null>(null);
  const nextKey = useRef(1);
  const deployHref = `/apps/${encodeURIComponent(app.name)}/deploy`;

  if (!atLeast(app.role, "member")) {
    return (
      <Card>
        <EmptyState
          icon={Lock}
          title="Viewers cannot open a console"
          description="A console runs commands inside the app's instances: it needs the member role or higher in this team. Ask a team admin if you need one."
        />
      </Card>
    );
  }
  if (instances.isError) {
    return (
      <Card>
        <ErrorState error={instances.error} onRetry={() => void instances.refetch()} />
      </Card>
    );
  }
  if (!instances.data) {
    return (
      <Card>
        <SkeletonRows rows={6} label="Loading instances" />
      </Card>
    );
  }

  const running = instances.data.filter((i) => i.state === "running");
  const live = session.phase === "connecting" || session.phase === "open";
  if (running.length === 0 && session.phase === "idle") {
    return (
      <Card>
        <EmptyState
          icon={SquareTerminal}
          title="No running instance"
          description="A console opens a shell inside a running instance. Deploy the app (or scale a process up) first."
          action={
            <Link href={deployHref} className={buttonClasses("primary", "sm")}>
              Go to Deploy
            </Link>
          }
        />
      </Card>
    );
  }

  const selected = picked && running.some((i) => i.id === picked) ? picked : defaultInstance(running);
  const start = () => {
    if (!selected) return;
    setSession({ phase: "connecting", key: nextKey.current++, instance: selected });
  };

  return (
    <Card>
      <CardHeader
        title="Console"
        description={
          <>
            A shell inside a running instance, like <code className="font-mono text-[13px]">berth ps:exec</code>. Each
            session opened is recorded in the team's audit log; what you type is not.
          </>
        }
      />
      <div className="flex flex-wrap items-end gap-3 px-5 pt-4">
        <div className="min-w-56">
          <Label htmlFor="console-instance">Instance</Label>
          <Select
            id="console-instance"
            className="mt-1.5"
            value={selected ?? ""}
            disabled={live || running.length === 0}
            onChange={(e) => setPicked(e.target.value)}
          >
            {running.length === 0 ? <option value="">No running instance</option> : null}
            {running.map((i) => (
              <option key={i.id} value={i.id}>
                {i.processType} · {shortInstanceId(i.id)} (v{i.release})
              </option>
            ))}
          </Select>
        </div>
        {live ? (
          <Button variant="secondary" onClick={() => closeRef.current?.()}>
            <X aria-hidden className="size-4" />
            Close session
          </Button>
        ) : (
          <Button onClick={start} disabled={!selected}>
            <Play aria-hidden className="size-4" />
            {session.phase === "idle" ? "Open console" : "Start a new session"}
          </Button>
        )}
        {/* The closed state is announced by its alert below; this line says only what is live. */}
        <p role="status" className="inline-flex items-center gap-2 pb-2 text-sm text-zinc-500">
          {session.phase === "open" ? <span aria-hidden className="size-2 rounded-full bg-emerald-500" /> : null}
          {session.phase === "connecting"
            ? "Connecting…"
            : session.phase === "open"
              ? `Connected to ${session.instance}`
              : ""}
        </p>
      </div>
      <div className="px-5 py-4">
        {session.phase === "closed" ? (
          <div
            role="alert"
            className={
              session.outcome.kind === "refused"
                ? "mb-3 rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900"
                : "mb-3 rounded-md border border-zinc-200 bg-zinc-50 px-4 py-3 text-sm text-zinc-700"
            }
          >
            <p className="font-medium">{session.outcome.title}</p>
            <p className="mt-0.5">
              {session.outcome.message} Sessions do not survive a reconnect: start a new session to get a new shell.
            </p>
          </div>
        ) : null}
        {session.phase === "idle" ? (
          <div className="flex h-[28rem] items-center justify-center rounded-md border border-dashed border-zinc-300 bg-zinc-50 px-6 text-center text-sm text-zinc-500">
            Pick an instance and open a console. The shell runs as the app&apos;s own process does, with its
            environment.
          </div>
        ) : (
          <ConsoleTerminal
            key={session.key}
            app={app.name}
            instance={session.instance}
            closeRef={closeRef}
            onStarted={() =>
              setSession((s) => (s.phase === "connecting" && s.key === session.key ? { ...s, phase: "open" } : s))
            }
            onClosed={(outcome) =>
              setSession((s) =>
                s.phase !== "idle" && s.key === session.key
                  ? { phase: "closed", key: s.key, instance: s.instance, outcome }
                  : s,
              )
            }
          />
        )}
        <p className="mt-3 text-xs text-zinc-500">
          <kbd className="font-mono">Shift+Tab</kbd> leaves the terminal (to Close session).{" "}
          <kbd className="font-mono">Ctrl+Shift+C</kbd> copies the selection,{" "}
          <kbd className="font-mono">Ctrl+Shift+V</kbd> pastes (or use the browser&apos;s menu). Leaving this page or
          reloading it ends the session.
        </p>
      </div>
    </Card>
  );
}
