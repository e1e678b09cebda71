"use client";
import { useState, type FormEvent } from "react";
import { MailCheck } from "lucide-react";
import { Button } from "@/components/ui/button";
import { CopyField } from "@/components/ui/copy-button";
import { Dialog } from "@/components/ui/dialog";
import { FormError } from "@/components/ui/error-state";
import { Input, Select } from "@/components/ui/input";
import { Field, fieldIds } from "@/components/ui/label";
import { useToast } from "@/components/ui/toast";
import { relativeTime, titleCase } from "@/lib/format";
import { useAddMember } from "@/lib/queries";
import { ROLE_HELP } from "@/lib/roles";
import { ROLES, type CreatedInvitation, type Role } from "@/lib/types";
import { emailProblem } from "@/lib/validation";

function InviteForm({
  team,
  roles,
  onClose,
  onInvited,
}: {
  team: string;
  roles: Role[];
  onClose: () => void;
  onInvited: (inv: CreatedInvitation) => void;
}) {
  const add = useAddMember(team);
  const toast = useToast();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [submitted, setSubmitted] = useState(false);
  const emailError = submitted ? emailProblem(email) : null;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (emailProblem(email)) return;
    add.mutate(
      { email: email.trim(), role },
      {
        onSuccess: (res) => {
          if ("member" in res) {
            toast({ title: `Added ${res.member.email}`, description: `They joined ${team} as ${res.member.role}.` });
            onClose();
          } else {
            onInvited(res.invitation);
          }
        },
      },
    );
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      <Field
        id="invite-email"
        label="Email"
        error={emailError}
        hint={emailError ? undefined : "People with an account join right away; others get an invitation link."}
      >
        <Input
          id="invite-email"
          type="email"
          data-autofocus
          autoComplete="off"
          placeholder="teammate@example.com"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          invalid={Boolean(emailError)}
          aria-describedby={fieldIds("invite-email", Boolean(emailError), !emailError)}
        />
      </Field>
      <Field id="invite-role" label="Role" hint={ROLE_HELP[role]}>
        <Select
          id="invite-role"
          value={role}
          onChange={(e) => setRole(e.target.value as Role)}
          aria-describedby="invite-role-hint"
        >
          {roles.map((r) => (
            <option key={r} value={r}>
              {titleCase(r)}
            </option>
          ))}
        </Select>
      </Field>
      <FormError error={add.error} />
      <div className="flex flex-col-reverse gap-2 pt-1 sm:flex-row sm:justify-end">
        <Button variant="secondary" onClick={onClose}>
          Cancel
        </Button>
        <Button type="submit" loading={add.isPending}>
          Invite
        </Button>
      </div>
    </form>
  );
}

function InviteLink({ invitation, onClose }: { invitation: CreatedInvitation; onClose: () => void }) {
  const link = `${window.location.origin}${invitation.acceptPath}`;
  return (
    <div className="space-y-4">
      <div className="flex items-start gap-3 rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2.5 text-sm text-emerald-900">
        <MailCheck aria-hidden className="mt-0.5 size-4 shrink-0" />
        <p>
          Invitation for <strong className="font-medium">{invitation.email}</strong> as {invitation.role} created. Send
          them this link: it is shown only once and expires {relativeTime(invitation.expiresAt)}.
        </p>
      </div>
      <div>
        <p className="mb-1.5 text-sm font-medium text-zinc-800" id="invite-link-label">
          Accept link
        </p>
        <CopyField value={link} label="Copy invitation link" testId="invite-link" />
      </div>
      <div className="flex justify-end pt-1">
        <Button onClick={onClose} data-autofocus>
          Done
        </Button>
      </div>
    </div>
  );
}

/** Invite someone to a team; for emails without an account, shows the one-time accept link. */
export function InviteDialog({
  open,
  onClose,
  team,
  myRole,
}: {
  open: boolean;
  onClose: () => void;
  team: string;
  myRole: string;
}) {
  const [created, setCreated] = useState<CreatedInvitation | null>(null);
  const roles = ROLES.filter((r) => r !== "owner" || myRole === "owner");
  const close = () => {
    setCreated(null);
    onClose();
  };
  return (
    <Dialog
      open={open}
      onClose={close}
      title={created ? "Share the invitation" : `Invite to ${team}`}
      description={created ? undefined : "Add a teammate by email and choose what they can do."}
    >
      {created ? (
        <InviteLink invitation={created} onClose={close} />
      ) : (
        <InviteForm team={team} roles={roles} onClose={close} onInvited={setCreated} />
      )}
    </Dialog>
  );
}
