// Deploy an existing image by reference (POST /apps/{app}/releases): members and up; viewers see it disabled.
"use client";
import { useId, useState, type FormEvent } from "react";
import { Lock } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { useToast } from "@/components/ui/toast";
import { atLeast } from "@/lib/roles";
import { useDeployImage } from "./queries";

// Mirrors server/validation/image-ref.ts closely enough to catch typos before a request.
const IMAGE_REF = /^[a-z0-9]([a-z0-9._:/@-]*[a-z0-9])?$/i;

export function DeployImageForm({ app, role }: { app: string; role: string | undefined }) {
  const id = useId();
  const [image, setImage] = useState("");
  const [touched, setTouched] = useState(false);
  const deploy = useDeployImage(app);
  const toast = useToast();
  const allowed = atLeast(role, "member");
  const value = image.trim();
  const invalid = touched && value !== "" && (!IMAGE_REF.test(value) || value.length > 512);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!allowed || !value || !IMAGE_REF.test(value)) return;
    deploy.mutate(value, {
      onSuccess: (r) => {
        toast({ title: `Released v${r.version}`, description: `Deployed ${value}.` });
        setImage("");
        setTouched(false);
      },
    });
  };

  return (
    <Card>
      <CardHeader
        title="Deploy an image"
        description="Release a prebuilt image; Berth copies it into the platform registry."
      />
      <form
        onSubmit={submit}
        className="space-y-4 px-5 py-5"
        aria-describedby={allowed ? undefined : `${id}-ro`}
        noValidate
      >
        <fieldset disabled={!allowed || deploy.isPending} className="flex flex-col gap-3 sm:flex-row sm:items-start">
          <Field
            id={`${id}-image`}
            label="Image reference"
            className="flex-1"
            error={invalid ? "Use a reference like registry.example.com/team/app:1.2 or name@sha256:…" : undefined}
          >
            <Input
              id={`${id}-image`}
              name="image"
              value={image}
              onChange={(e) => setImage(e.target.value)}
              onBlur={() => setTouched(true)}
              placeholder="registry.example.com/team/app:1.2"
              autoComplete="off"
              spellCheck={false}
              invalid={invalid}
              className="font-mono text-[13px]"
            />
          </Field>
          <Button type="submit" loading={deploy.isPending} disabled={!allowed || !value} className="sm:mt-6">
            Deploy image
          </Button>
        </fieldset>
        {deploy.isError ? <FormError error={deploy.error} /> : null}
        {!allowed ? (
          <p id={`${id}-ro`} className="flex items-center gap-1.5 text-[13px] text-zinc-500">
            <Lock aria-hidden className="size-3.5" />
            Viewers cannot deploy. Ask a member or admin of the team.
          </p>
        ) : null}
      </form>
    </Card>
  );
}
