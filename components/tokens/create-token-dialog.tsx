"use client";
import { useState, type FormEvent } from "react";
import { TriangleExclamationPoint } from "lucide-react";
import { Button } from "@/components/ui/button";
import { CopyField } from "@/components/ui/copy-button";
import { Dialog } from "@/components/ui/dialog";
import { FormError } from "@/components/ui/error-state";
import { Input, Select } from "@/components/ui/input";
import { Field, fieldIds } from "@/components/ui/label";
import { useCreateToken } from "@/lib/queries";
import type { CreatedApiToken } from "@/lib/types";

const TOKEN_NAME = /^[\w .@:-]+$/;
const EXPIRY = [
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "", label: "Never" },
];

function CreateTokenForm({ onClose, onCreated }: { onClose: () => void; onCreated: (t: CreatedApiToken) => void }) {
  const create = useCreateToken();
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("90");
  const [submitted, setSubmitted] = useState(false);
  const trimmed = name.trim();
  const problem =
    trimmed.length === 0
      ? "Give the token a name."
      : trimmed.length > 60
        ? "Use at most 60 characters."
        : !TOKEN_NAME.test(trimmed)
          ? "Use letters, digits, spaces and . _ - @ :"
          : null;
  const showProblem = submitted && problem;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (problem) return;
    create.mutate({ name: trimmed, ...(expiry ? { expiresInDays: Number(expiry) } : {}) }, { onSuccess: onCreated });
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      <Field
        id="token-name"
        label="Name"
        error={showProblem ? problem : undefined}
        hint={showProblem ? undefined : "What the token is for, e.g. “CI deploys” or “laptop”."}
      >
        <Input
          id="token-name"
          data-autofocus
          value={name}
          maxLength={60}
          autoComplete="off"
          onChange={(e) => setName(e.target.value)}
          invalid={Boolean(showProblem)}
          aria-describedby={fieldIds("token-name", Boolean(showProblem), !showProblem)}
        />
      </Field>
      <Field id="token-expiry" label="Expires after">
        <Select id="token-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
          {EXPIRY.map((x) => (
            <option key={x.label} value={x.value}>
              {x.label}
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
          Create token
        </Button>
      </div>
    </form>
  );
}

function TokenSecret({ token, onClose }: { token: CreatedApiToken; onClose: () => void }) {
  return (
    <div className="space-y-4">
      <div className="flex items-start gap-3 rounded-md border border-amber-200 bg-amber-50 px-3 py-2.5 text-sm text-amber-900">
        <TriangleExclamationPoint aria-hidden className="mt-0.5 size-4 shrink-0" />
        <p>Copy the token now. Berth stores only a hash of it, so it cannot be shown again.</p>
      </div>
      <div>
        <p className="mb-1.5 text-sm font-medium text-zinc-800">Token “{token.name}”</p>
        <CopyField value={token.token} label="Copy token" testId="token-secret" />
      </div>
      <div className="text-[13px] text-zinc-500">
        Use it as <code className="rounded bg-zinc-100 px-1 font-mono">Authorization: Bearer …</code>, as{" "}
        <code className="rounded bg-zinc-100 px-1 font-mono">BERTH_TOKEN</code> for the CLI, or as the password for git
        push.
      </div>
      <div className="flex justify-end pt-1">
        <Button onClick={onClose} data-autofocus>
          I have copied it
        </Button>
      </div>
    </div>
  );
}

/** Creates a token; the secret is shown once, in the same dialog. */
export function CreateTokenDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [created, setCreated] = useState<CreatedApiToken | null>(null);
  const close = () => {
    setCreated(null);
    onClose();
  };
  return (
    <Dialog
      open={open}
      onClose={close}
      title={created ? "Your new API token" : "Create an API token"}
      description={created ? undefined : "Tokens act as you for the CLI, scripts and git. Revoke them any time."}
    >
      {created ? (
        <TokenSecret token={created} onClose={close} />
      ) : (
        <CreateTokenForm onClose={close} onCreated={setCreated} />
      )}
    </Dialog>
  );
}
