"use client";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter } from "@/components/ui/card";
import { FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { Field, fieldIds } from "@/components/ui/label";
import { useToast } from "@/components/ui/toast";
import { rememberTeam } from "@/lib/current-team";
import { useCreateTeam } from "@/lib/queries";
import { nameProblem } from "@/lib/validation";

/** Create a team; the creator becomes its owner and it becomes the current team. */
export default function NewTeamPage() {
  const create = useCreateTeam();
  const router = useRouter();
  const toast = useToast();
  const [name, setName] = useState("");
  const [touched, setTouched] = useState(false);
  const problem = nameProblem(name);
  const showProblem = touched && problem;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (problem) return;
    create.mutate(name, {
      onSuccess: (team) => {
        rememberTeam(team.name);
        toast({ title: `Created team ${team.name}`, description: "You are its owner. Invite your teammates next." });
        router.push("/apps");
      },
    });
  };

  return (
    <div className="mx-auto max-w-xl">
      <title>New team · Berth</title>
      <PageHeader
        title="Create a team"
        description="Teams own apps. Members get a role: viewer, member, admin or owner."
      />
      <Card>
        <form onSubmit={onSubmit} noValidate>
          <CardBody className="space-y-4 py-5">
            <Field
              id="team-name"
              label="Team name"
              error={showProblem ? problem : undefined}
              hint={
                showProblem ? undefined : "Lowercase letters, digits and dashes; starts with a letter; 2-30 characters."
              }
            >
              <Input
                id="team-name"
                autoFocus
                value={name}
                placeholder="acme-web"
                autoComplete="off"
                spellCheck={false}
                maxLength={30}
                className="font-mono"
                onChange={(e) => {
                  setName(e.target.value.toLowerCase());
                  if (e.target.value.length >= 2) setTouched(true);
                }}
                onBlur={() => name && setTouched(true)}
                invalid={Boolean(showProblem)}
                aria-describedby={fieldIds("team-name", Boolean(showProblem), !showProblem)}
              />
            </Field>
            <FormError error={create.error} />
          </CardBody>
          <CardFooter>
            <span>You will be the owner.</span>
            <div className="flex gap-2">
              <Button variant="secondary" onClick={() => router.back()}>
                Cancel
              </Button>
              <Button type="submit" loading={create.isPending || create.isSuccess}>
                Create team
              </Button>
            </div>
          </CardFooter>
        </form>
      </Card>
    </div>
  );
}
