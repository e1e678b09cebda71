"use client";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { Field, fieldIds } from "@/components/ui/label";
import { useToast } from "@/components/ui/toast";
import { useCreateVolume } from "@/lib/queries";
import { checkVolumeForm, formatVolumeSize, type VolumeFormInput } from "@/lib/volume-form";

/**
 * The create-volume form: name, size, mount path and process type, checked like `berth volumes:create` (each field's
 * problem under it once the field was left or the form sent; the server's refusal under the form). Mounted only
 * while its dialog is open, so it starts empty each time.
 */
export function CreateVolumeForm({
  app,
  processTypes,
  onDone,
}: {
  app: string;
  /** The app's process types (its formation), offered as suggestions; any valid type may be typed. */
  processTypes: string[];
  onDone: () => void;
}) {
  const create = useCreateVolume(app);
  const toast = useToast();
  const [form, setForm] = useState<VolumeFormInput>({
    name: "",
    size: "1G",
    mountPath: "/data",
    processType: processTypes.includes("web") ? "web" : (processTypes[0] ?? "web"),
  });
  const [touched, setTouched] = useState<Partial<Record<keyof VolumeFormInput, boolean>>>({});
  const [sent, setSent] = useState(false);
  const { problems, sizeMb } = checkVolumeForm(form);
  const shown = (k: keyof VolumeFormInput) => (sent || touched[k] ? problems[k] : undefined);
  // A field shows its problem instead of its hint while it has one.
  const hint = (k: keyof VolumeFormInput, text: string) => (shown(k) ? undefined : text);

  const field = (k: keyof VolumeFormInput) => ({
    id: `volume-${k}`,
    value: form[k],
    invalid: Boolean(shown(k)),
    "aria-describedby": fieldIds(`volume-${k}`, Boolean(shown(k)), !shown(k)),
    autoComplete: "off",
    spellCheck: false,
    onChange: (e: { target: { value: string } }) => {
      setForm((f) => ({ ...f, [k]: e.target.value }));
      if (create.error) create.reset();
    },
    onBlur: () => setTouched((t) => ({ ...t, [k]: true })),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSent(true);
    if (Object.keys(problems).length > 0 || sizeMb === null) {
      // Focus the first field with a problem so keyboard users land on it.
      const first = (["name", "size", "mountPath", "processType"] as const).find((k) => problems[k]);
      if (first) document.getElementById(`volume-${first}`)?.focus();
      return;
    }
    create.mutate(
      { name: form.name, sizeMb, mountPath: form.mountPath, processType: form.processType },
      {
        onSuccess: (v) => {
          toast({ title: `Volume ${v.name} created: ${v.processType} instances restart to mount it` });
          onDone();
        },
      },
    );
  };

  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <Field
        id="volume-name"
        label="Name"
        hint={hint("name", "Lowercase letters, digits and dashes, like data.")}
        error={shown("name")}
      >
        <Input {...field("name")} placeholder="data" className="font-mono" data-autofocus />
      </Field>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field
          id="volume-size"
          label="Size"
          hint={hint(
            "size",
            sizeMb !== null && !problems.size
              ? `${formatVolumeSize(sizeMb)}; writes past it fail.`
              : "Like 512M or 1G.",
          )}
          error={shown("size")}
        >
          <Input {...field("size")} placeholder="1G" className="font-mono" />
        </Field>
        <Field
          id="volume-processType"
          label="Process type"
          hint={hint("processType", "Every instance of it mounts the volume.")}
          error={shown("processType")}
        >
          <Input {...field("processType")} list="volume-process-types" placeholder="web" className="font-mono" />
          <datalist id="volume-process-types">
            {processTypes.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </Field>
      </div>
      <Field
        id="volume-mountPath"
        label="Mount path"
        hint={hint("mountPath", "Where it appears inside the container, like /data.")}
        error={shown("mountPath")}
      >
        <Input {...field("mountPath")} placeholder="/data" className="font-mono" />
      </Field>
      <p className="text-sm text-zinc-500">
        The volume lives on one node; instances of{" "}
        <span className="font-mono">{form.processType || "the process type"}</span> run there and are replaced
        stop-then-start to mount it.
      </p>
      <FormError error={create.error} />
      <div className="flex justify-end gap-2">
        <Button type="button" variant="secondary" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" loading={create.isPending}>
          Create volume
        </Button>
      </div>
    </form>
  );
}
