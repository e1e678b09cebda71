"use client";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { FormError } from "@/components/ui/error-state";
import { Input, Select } from "@/components/ui/input";
import { Field, fieldIds } from "@/components/ui/label";
import { useToast } from "@/components/ui/toast";
import { useCreateApp } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { App, Team } from "@/lib/types";
import { nameProblem } from "@/lib/validation";

function CreateAppForm({
  teams,
  team,
  onClose,
  onCreated,
}: {
  teams: Team[];
  team: string;
  onClose: () => void;
  onCreated: (app: App) => void;
}) {
  const create = useCreateApp();
  const toast = useToast();
  const [name, setName] = useState("");
  const [owner, setOwner] = useState(team);
  const [touched, setTouched] = useState(false);
  const problem = nameProblem(name);
  const showProblem = touched && problem;
  const eligible = teams.filter((t) => atLeast(t.role, "admin"));

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (problem) return;
    create.mutate(
      { name, team: owner },
      {
        onSuccess: (app) => {
          toast({ title: `Created ${app.name}`, description: `Deploy it with git push to ${app.gitUrl}` });
          onCreated(app);
          onClose();
        },
      },
    );
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      <Field
        id="app-name"
        label="App name"
        error={showProblem ? problem : undefined}
        hint={
          showProblem
            ? undefined
            : "Lowercase letters, digits and dashes; starts with a letter; 2-30 characters. Used in the app's URL."
        }
      >
        <Input
          id="app-name"
          data-autofocus
          value={name}
          placeholder="my-app"
          autoComplete="off"
          spellCheck={false}
          maxLength={30}
          onChange={(e) => {
            setName(e.target.value.toLowerCase());
            if (e.target.value.length >= 2) setTouched(true);
          }}
          onBlur={() => name && setTouched(true)}
          invalid={Boolean(showProblem)}
          aria-describedby={fieldIds("app-name", Boolean(showProblem), !showProblem)}
          className="font-mono"
        />
      </Field>
      <Field id="app-team" label="Team" hint="Team admins and owners can create apps.">
        <Select id="app-team" value={owner} onChange={(e) => setOwner(e.target.value)} aria-describedby="app-team-hint">
          {eligible.map((t) => (
            <option key={t.id} value={t.name}>
              {t.name}
              {t.personal ? " (personal)" : ""}
            </option>
          ))}
        </Select>
      </Field>
      <FormError error={create.error} />
      <div className="flex flex-col-reverse gap-2 pt-1 sm:flex-row sm:justify-end">
        <Button variant="secondary" onClick={onClose}>
          Cancel
        </Button>
        <Button type="submit" loading={create.isPending}>
          Create app
        </Button>
      </div>
    </form>
  );
}

/** Dialog to create an app in one of the teams the user administers. */
export function CreateAppDialog({
  open,
  onClose,
  teams,
  team,
  onCreated = () => {},
}: {
  open: boolean;
  onClose: () => void;
  teams: Team[];
  team: string;
  onCreated?: (app: App) => void;
}) {
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Create an app"
      description="An app is a git repository, its releases and the processes that run them."
    >
      <CreateAppForm teams={teams} team={team} onClose={onClose} onCreated={onCreated} />
    </Dialog>
  );
}
