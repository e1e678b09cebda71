"use client";
import { useState, type FormEvent, type ReactNode } from "react";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";

/**
 * The one confirmation dialog of the dashboard: Cancel and an action button, the mutation's error under the body.
 * Destructive actions (`tone="danger"`) focus Cancel first so Enter never destroys by accident; with `typeToConfirm`
 * the action stays disabled until that text (the resource's name) is typed, as GitHub and Heroku ask for deletes.
 */
export function ConfirmDialog({
  open,
  onClose,
  title,
  description,
  warning,
  confirmLabel,
  onConfirm,
  pending = false,
  error,
  tone = "danger",
  typeToConfirm,
  size = "sm",
  children,
}: {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  description?: ReactNode;
  /** A red box above the confirmation field, for what cannot be undone. */
  warning?: ReactNode;
  confirmLabel: ReactNode;
  onConfirm: () => void;
  pending?: boolean;
  error?: unknown;
  tone?: "danger" | "primary";
  typeToConfirm?: string;
  size?: "sm" | "md" | "lg";
  children?: ReactNode;
}) {
  return (
    <Dialog open={open} onClose={onClose} title={title} description={description} size={typeToConfirm ? "md" : size}>
      {/* Mounted only while open (Dialog's rule), so the typed text starts empty at each opening. */}
      <ConfirmForm
        onClose={onClose}
        warning={warning}
        confirmLabel={confirmLabel}
        onConfirm={onConfirm}
        pending={pending}
        error={error}
        tone={tone}
        typeToConfirm={typeToConfirm}
      >
        {children}
      </ConfirmForm>
    </Dialog>
  );
}

function ConfirmForm({
  onClose,
  warning,
  confirmLabel,
  onConfirm,
  pending,
  error,
  tone,
  typeToConfirm,
  children,
}: {
  onClose: () => void;
  warning?: ReactNode;
  confirmLabel: ReactNode;
  onConfirm: () => void;
  pending: boolean;
  error?: unknown;
  tone: "danger" | "primary";
  typeToConfirm?: string;
  children?: ReactNode;
}) {
  const [typed, setTyped] = useState("");
  const matches = typeToConfirm === undefined || typed === typeToConfirm;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (matches && !pending) onConfirm();
  };
  const fieldId = "confirm-name";
  return (
    <form onSubmit={onSubmit} className="space-y-4">
      {warning ? (
        <div className="rounded-md border border-red-200 bg-red-50 px-3 py-2.5 text-sm text-red-800">{warning}</div>
      ) : null}
      {children}
      {typeToConfirm !== undefined ? (
        <Field
          id={fieldId}
          label={
            <>
              Type <code className="rounded bg-zinc-100 px-1 font-mono text-[13px]">{typeToConfirm}</code> to confirm
            </>
          }
        >
          <Input
            id={fieldId}
            data-autofocus
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            className="font-mono"
          />
        </Field>
      ) : null}
      <FormError error={error} />
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        <Button
          variant="secondary"
          onClick={onClose}
          data-autofocus={tone === "danger" && typeToConfirm === undefined ? true : undefined}
        >
          Cancel
        </Button>
        <Button
          type="submit"
          variant={tone === "danger" ? "danger" : "primary"}
          disabled={!matches}
          loading={pending}
          data-autofocus={tone === "primary" ? true : undefined}
        >
          {confirmLabel}
        </Button>
      </div>
    </form>
  );
}
