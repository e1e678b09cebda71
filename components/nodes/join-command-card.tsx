"use client";
import { useState, type FormEvent } from "react";
import { ServerCog, TriangleExclamationPoint } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter, CardHeader } from "@/components/ui/card";
import { CopyField } from "@/components/ui/copy-button";
import { FormError } from "@/components/ui/error-state";
import { Select } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { useCreateJoinToken, useSession, useTeams } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { CreatedJoinToken } from "@/lib/types";

const SHARED = "\u0000shared";

/** The shell line that starts an agent on a new host (same as `berth nodes:join-command` in cli/commands/nodes.ts). */
export function joinCommand(url: string, token: string): string {
  const q = (v: string) => `'${v.replace(/'/g, "'\\''")}'`;
  return `BERTH_CONTROL_PLANE_URL=${q(url)} BERTH_JOIN_TOKEN=${q(token)} node --import tsx runtime-agent/main.ts`;
}

/** Creates a join token (team admins for their teams, the instance admin also for shared nodes) and shows the command once. */
export function JoinCommandCard({ defaultTeam }: { defaultTeam?: string }) {
  const session = useSession();
  const teams = useTeams();
  const create = useCreateJoinToken();
  const [choice, setChoice] = useState("");
  const [created, setCreated] = useState<CreatedJoinToken | null>(null);
  const isInstanceAdmin = Boolean(session.data?.user.isAdmin);
  const eligible = (teams.data ?? []).filter((t) => atLeast(t.role, "admin"));
  const fallback =
    eligible.find((t) => t.name === defaultTeam)?.name ?? eligible[0]?.name ?? (isInstanceAdmin ? SHARED : "");
  const owner = choice || fallback;
  const canCreate = owner !== "";

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!canCreate) return;
    const name = `dashboard ${new Date().toISOString().slice(0, 16).replace("T", " ")}`;
    create.mutate({ name, ...(owner === SHARED ? {} : { team: owner }) }, { onSuccess: setCreated });
  };

  return (
    <Card>
      <CardHeader
        title="Add a node"
        description="Run the Berth agent on another Linux host to give your apps more room."
      />
      {teams.isPending || session.isPending ? (
        <CardBody>
          <Skeleton className="h-9 w-72" />
        </CardBody>
      ) : created ? (
        <CardBody className="space-y-3">
          <div
            role="status"
            className="flex items-start gap-2 rounded-md border border-amber-200 bg-amber-50 px-3 py-2.5 text-sm text-amber-900"
          >
            <TriangleExclamationPoint aria-hidden className="mt-0.5 size-4 shrink-0" />
            <span>
              Join token &ldquo;{created.name}&rdquo; was created{" "}
              {created.team ? `for team ${created.team}` : "for a shared node"}. Copy the command now: the token is
              shown only once.
            </span>
          </div>
          <p className="text-sm text-zinc-600">
            On the new host, as root, in a checkout of Berth after <code className="font-mono text-[13px]">npm ci</code>
            , run:
          </p>
          <CopyField
            tone="dark"
            prompt="#"
            value={joinCommand(window.location.origin, created.token)}
            label="Copy join command"
            testId="join-command"
          />
          <div className="flex justify-end">
            <Button variant="secondary" size="sm" onClick={() => setCreated(null)}>
              Done
            </Button>
          </div>
        </CardBody>
      ) : canCreate ? (
        <form onSubmit={onSubmit} className="flex flex-wrap items-end gap-3 px-5 py-4">
          <Field id="join-owner" label="The node belongs to" className="w-full max-w-xs">
            <Select id="join-owner" value={owner} onChange={(e) => setChoice(e.target.value)}>
              {eligible.map((t) => (
                <option key={t.id} value={t.name}>
                  Team {t.name}
                </option>
              ))}
              {isInstanceAdmin ? <option value={SHARED}>Shared (any team may use it)</option> : null}
            </Select>
          </Field>
          <Button type="submit" loading={create.isPending}>
            <ServerCog aria-hidden className="size-4" />
            Create join command
          </Button>
          {create.error ? (
            <div className="w-full">
              <FormError error={create.error} />
            </div>
          ) : null}
        </form>
      ) : null}
      {!canCreate && !teams.isPending && !session.isPending ? (
        <CardFooter>
          Only team admins and owners (for their team) and the instance admin (for shared nodes) can add nodes.
        </CardFooter>
      ) : null}
    </Card>
  );
}
