"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter, CardHeader } from "@/components/ui/card";
import { ErrorState, FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { Field, fieldIds } from "@/components/ui/label";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useToast } from "@/components/ui/toast";
import { api, seg } from "@/lib/api";

/** An app's deploy settings as the API answers them. */
export interface DeploySettings {
  rolloutBatch: number;
  healthCheckPath: string | null;
}

// Under the app's key, so invalidating the app refreshes them too.
const settingsKey = (app: string) => ["app", app, "deploy-settings"] as const;

/** The app's rollout batch and web health check path. */
export function useDeploySettings(app: string) {
  return useQuery({
    queryKey: settingsKey(app),
    queryFn: ({ signal }) => api<DeploySettings>(`/apps/${seg(app)}/deploy-settings`, { signal }),
  });
}

/** Changes the deploy settings (member and up); the answer replaces the cached settings. */
export function useChangeDeploySettings(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (change: Partial<DeploySettings>) =>
      api<DeploySettings>(`/apps/${seg(app)}/deploy-settings`, { method: "PATCH", body: change }),
    onSuccess: async (settings) => {
      qc.setQueryData(settingsKey(app), settings);
      // The activity timeline gains an entry.
      await qc.invalidateQueries({ queryKey: ["app", app, "activity"] });
    },
  });
}

// The server is the authority; these mirror its rules so mistakes show next to the field before a round trip.
const BATCH_MAX = 100;
const PATH_MAX = 200;
const PATH_PATTERN = /^\/(?:[A-Za-z0-9\-._~/:@+,=&?]|%[0-9A-Fa-f]{2})*$/;

function batchError(raw: string): string | null {
  if (!/^[0-9]+$/.test(raw.trim()) || Number(raw) > BATCH_MAX) return `Enter a whole number from 0 to ${BATCH_MAX}.`;
  return null;
}

function pathError(raw: string): string | null {
  const p = raw.trim();
  if (p === "") return null;
  if (!p.startsWith("/")) return "The path starts with /, like /healthz.";
  if (p.length > PATH_MAX) return `At most ${PATH_MAX} characters.`;
  if (!PATH_PATTERN.test(p)) return "Use letters, digits, - . _ ~ / : @ + , = & ? and %XX escapes only.";
  return null;
}

function SettingsForm({ app, settings, canEdit }: { app: string; settings: DeploySettings; canEdit: boolean }) {
  const change = useChangeDeploySettings(app);
  const toast = useToast();
  const [batch, setBatch] = useState(String(settings.rolloutBatch));
  const [path, setPath] = useState(settings.healthCheckPath ?? "");
  const [touched, setTouched] = useState(false);
  const errors = { batch: batchError(batch), path: pathError(path) };
  const nextBatch = Number(batch.trim());
  const nextPath = path.trim() === "" ? null : path.trim();
  const dirty = nextBatch !== settings.rolloutBatch || nextPath !== settings.healthCheckPath;

  const save = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (errors.batch || errors.path || !dirty) return;
    const body: Partial<DeploySettings> = {};
    if (nextBatch !== settings.rolloutBatch) body.rolloutBatch = nextBatch;
    if (nextPath !== settings.healthCheckPath) body.healthCheckPath = nextPath;
    change.mutate(body, {
      onSuccess: () => {
        setTouched(false);
        toast({
          title: "Deploy settings saved",
          description:
            body.healthCheckPath !== undefined
              ? "The health check applies to web instances started from now on (next deploy or restart)."
              : undefined,
        });
      },
    });
  };

  const showBatchError = touched ? errors.batch : null;
  const showPathError = touched ? errors.path : null;
  return (
    <form onSubmit={save} noValidate className="space-y-4">
      <div className="grid gap-4 sm:grid-cols-2">
        <Field
          id="deploy-batch"
          label="Rollout batch"
          error={showBatchError}
          hint="0 starts the whole new formation at once. N starts at most N new instances per process type at a time and stops one old instance for each new healthy one."
        >
          <Input
            id="deploy-batch"
            inputMode="numeric"
            value={batch}
            onChange={(e) => setBatch(e.target.value)}
            disabled={!canEdit}
            invalid={Boolean(showBatchError)}
            aria-describedby={fieldIds("deploy-batch", Boolean(showBatchError), true)}
            autoComplete="off"
            className="max-w-32"
          />
        </Field>
        <Field
          id="deploy-health-path"
          label="Health check path"
          error={showPathError}
          hint="Web instances count as started once GET of this path answers 2xx or 3xx. Empty: once they accept connections on PORT. Applies to instances started after the change."
        >
          <Input
            id="deploy-health-path"
            value={path}
            onChange={(e) => setPath(e.target.value)}
            placeholder="/healthz"
            disabled={!canEdit}
            invalid={Boolean(showPathError)}
            aria-describedby={fieldIds("deploy-health-path", Boolean(showPathError), true)}
            autoComplete="off"
            spellCheck={false}
            className="font-mono"
          />
        </Field>
      </div>
      <FormError error={change.error} />
      <div className="flex justify-end">
        <Button type="submit" disabled={!canEdit || !dirty} loading={change.isPending}>
          Save deploy settings
        </Button>
      </div>
    </form>
  );
}

/**
 * Deploys: the rollout batch (how many new instances start at a time during rollouts and restarts) and the web
 * health check path. Members and up may change them, like the formation; changing them never creates a release.
 */
export function DeploySettingsCard({ app, canEdit }: { app: string; canEdit: boolean }) {
  const settings = useDeploySettings(app);
  return (
    <Card>
      <CardHeader
        title="Deploys"
        description="How a new release replaces running instances, and when a web instance counts as started. Changing these never creates a release."
      />
      <CardBody>
        {settings.isPending ? (
          <SkeletonRows rows={2} label="Loading deploy settings" />
        ) : settings.isError ? (
          <ErrorState
            error={settings.error}
            title="Could not load deploy settings"
            onRetry={() => void settings.refetch()}
          />
        ) : (
          // Keyed by the saved values: after a save (or a change elsewhere) the fields start from what is stored.
          <SettingsForm
            key={`${settings.data.rolloutBatch}:${settings.data.healthCheckPath ?? ""}`}
            app={app}
            settings={settings.data}
            canEdit={canEdit}
          />
        )}
      </CardBody>
      {!canEdit ? (
        <CardFooter>Viewers cannot change deploy settings; members, admins and owners can.</CardFooter>
      ) : null}
    </Card>
  );
}
