"use client";
import { useState, type FormEvent } from "react";
import { KeyRound, Plus, TriangleExclamationPoint } from "lucide-react";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { CopyField } from "@/components/ui/copy-button";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState, FormError } from "@/components/ui/error-state";
import { Input, Select } from "@/components/ui/input";
import { Field, fieldIds } from "@/components/ui/label";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { fullTime, relativeTime } from "@/lib/format";
import { useCreateToken, useRevokeToken, useTokens } from "@/lib/queries";
import type { ApiToken, CreatedApiToken } from "@/lib/types";

const TOKEN_NAME = /^[\w .@:-]+$/;
const EXPIRY = [
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "", label: "Never" },
];

function tokenState(t: ApiToken): { label: string; tone: "green" | "red" | "neutral" } {
  if (t.revokedAt) return { label: "Revoked", tone: "red" };
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now()) return { label: "Expired", tone: "neutral" };
  return { label: "Active", tone: "green" };
}

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
      <Field id="token-name" label="Name" error={showProblem ? problem : undefined} hint={showProblem ? undefined : "What the token is for, e.g. “CI deploys” or “laptop”."}>
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
        <code className="rounded bg-zinc-100 px-1 font-mono">BERTH_TOKEN</code> for the CLI, or as the password for git push.
      </div>
      <div className="flex justify-end pt-1">
        <Button onClick={onClose} data-autofocus>
          I have copied it
        </Button>
      </div>
    </div>
  );
}

function CreateTokenDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
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
      {created ? <TokenSecret token={created} onClose={close} /> : <CreateTokenForm onClose={close} onCreated={setCreated} />}
    </Dialog>
  );
}

function RevokeDialog({ token, onClose }: { token: ApiToken | null; onClose: () => void }) {
  const revoke = useRevokeToken();
  const toast = useToast();
  return (
    <Dialog
      open={token !== null}
      onClose={() => {
        revoke.reset();
        onClose();
      }}
      size="sm"
      title={`Revoke “${token?.name ?? ""}”?`}
      description="Anything using this token stops working immediately. This cannot be undone."
      footer={
        <>
          <Button variant="secondary" onClick={onClose} data-autofocus>
            Cancel
          </Button>
          <Button
            variant="danger"
            loading={revoke.isPending}
            onClick={() =>
              token &&
              revoke.mutate(token.id, {
                onSuccess: () => {
                  toast({ title: `Revoked ${token.name}` });
                  onClose();
                },
              })
            }
          >
            Revoke token
          </Button>
        </>
      }
    >
      <FormError error={revoke.error} />
    </Dialog>
  );
}

/** The user's API tokens: list, create (secret shown once), revoke. */
export default function TokensPage() {
  const tokens = useTokens();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const sorted = [...(tokens.data ?? [])].sort((a, b) => Number(Boolean(a.revokedAt)) - Number(Boolean(b.revokedAt)) || b.createdAt.localeCompare(a.createdAt));
  const createButton = (
    <Button onClick={() => setCreating(true)}>
      <Plus aria-hidden className="size-4" />
      Create token
    </Button>
  );

  return (
    <>
      <title>API tokens · Berth</title>
      <PageHeader title="API tokens" description="Personal tokens for the berth CLI, CI pipelines and git push. They act with your permissions." actions={createButton} />
      <Card>
        {tokens.isPending ? (
          <SkeletonRows rows={3} label="Loading tokens" />
        ) : tokens.isError ? (
          <ErrorState error={tokens.error} onRetry={() => void tokens.refetch()} />
        ) : sorted.length === 0 ? (
          <EmptyState
            icon={KeyRound}
            title="No API tokens yet"
            description="Create one to use the CLI from CI or to authenticate git push."
            action={createButton}
          />
        ) : (
          <Table aria-label="API tokens">
            <THead>
              <tr>
                <TH>Name</TH>
                <TH>Status</TH>
                <TH className="hidden md:table-cell">Created</TH>
                <TH className="hidden md:table-cell">Last used</TH>
                <TH className="hidden sm:table-cell">Expires</TH>
                <TH>
                  <span className="sr-only">Actions</span>
                </TH>
              </tr>
            </THead>
            <TBody>
              {sorted.map((t) => {
                const state = tokenState(t);
                return (
                  <TR key={t.id} className={t.revokedAt ? "text-zinc-400" : undefined}>
                    <TD>
                      <p className={t.revokedAt ? "font-medium text-zinc-500" : "font-medium text-zinc-900"}>{t.name}</p>
                      <p className="font-mono text-xs text-zinc-500">{t.prefix}…</p>
                    </TD>
                    <TD>
                      <Badge tone={state.tone} dot>
                        {state.label}
                      </Badge>
                    </TD>
                    <TD className="hidden text-zinc-500 md:table-cell">
                      <time dateTime={t.createdAt} title={fullTime(t.createdAt)}>
                        {relativeTime(t.createdAt)}
                      </time>
                    </TD>
                    <TD className="hidden text-zinc-500 md:table-cell">
                      {t.lastUsedAt ? (
                        <time dateTime={t.lastUsedAt} title={fullTime(t.lastUsedAt)}>
                          {relativeTime(t.lastUsedAt)}
                        </time>
                      ) : (
                        "Never"
                      )}
                    </TD>
                    <TD className="hidden text-zinc-500 sm:table-cell">
                      {t.expiresAt ? (
                        <time dateTime={t.expiresAt} title={fullTime(t.expiresAt)}>
                          {relativeTime(t.expiresAt)}
                        </time>
                      ) : (
                        "Never"
                      )}
                    </TD>
                    <TD className="text-right">
                      {t.revokedAt ? null : (
                        <Button variant="danger-outline" size="sm" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>
                          Revoke
                        </Button>
                      )}
                    </TD>
                  </TR>
                );
              })}
            </TBody>
          </Table>
        )}
      </Card>
      <CreateTokenDialog open={creating} onClose={() => setCreating(false)} />
      <RevokeDialog token={revoking} onClose={() => setRevoking(null)} />
    </>
  );
}
