"use client";
import { useState, type FormEvent } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter, CardHeader } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import { ErrorState, FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useToast } from "@/components/ui/toast";
import { errorMessage } from "@/lib/api";
import { fullTime } from "@/lib/format";
import { useDomainChange, useDomains, type AppDomain } from "@/lib/queries";

/** The TXT record a pending domain needs, with copy buttons, and the Verify button. */
function Proof({
  d,
  canEdit,
  busy,
  error,
  onVerify,
}: {
  d: AppDomain;
  canEdit: boolean;
  busy: boolean;
  error: unknown;
  onVerify: () => void;
}) {
  return (
    <div className="mt-2 w-full space-y-2 rounded-md border border-amber-200 bg-amber-50/60 px-3 py-2.5 text-xs text-zinc-700">
      <p>
        Not routed yet. To prove you control <span className="font-mono">{d.hostname}</span>, publish this DNS record,
        then verify it{d.expiresAt ? <> before {fullTime(d.expiresAt)}</> : null}.
      </p>
      <dl className="grid grid-cols-[auto_1fr_auto] items-center gap-x-3 gap-y-1">
        <dt className="text-zinc-500">Name</dt>
        <dd className="min-w-0 truncate font-mono text-zinc-900">{d.verification.name}</dd>
        <CopyButton text={d.verification.name} label={`Copy the TXT record name for ${d.hostname}`} />
        <dt className="text-zinc-500">Type</dt>
        <dd className="font-mono text-zinc-900">{d.verification.type}</dd>
        <span />
        <dt className="text-zinc-500">Value</dt>
        <dd className="min-w-0 truncate font-mono text-zinc-900">{d.verification.value}</dd>
        <CopyButton text={d.verification.value} label={`Copy the TXT record value for ${d.hostname}`} />
      </dl>
      <div className="flex items-center gap-3">
        <Button size="sm" disabled={!canEdit} loading={busy} onClick={onVerify} aria-label={`Verify ${d.hostname}`}>
          Verify
        </Button>
        <span className="text-zinc-500">DNS changes can take a few minutes to show.</span>
      </div>
      <FormError error={error} />
    </div>
  );
}

/**
 * Custom domains: add (a pending claim), prove control with a DNS TXT record and verify (only then routed, and only
 * one app holds a name), remove, and the CNAME to point DNS at. Whether a domain is served over HTTPS comes from the
 * server (it depends on the platform's BERTH_HTTPS_PORT), never assumed.
 */
export function DomainsCard({ app, canEdit }: { app: string; canEdit: boolean }) {
  const domains = useDomains(app);
  const change = useDomainChange(app);
  const toast = useToast();
  const [hostname, setHostname] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [verifying, setVerifying] = useState<string | null>(null);
  const [verifyError, setVerifyError] = useState<{ host: string; error: unknown } | null>(null);

  const add = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    change.mutate(
      { add: hostname.trim() },
      {
        onSuccess: (d) => {
          setHostname("");
          toast({ title: `${d?.hostname ?? hostname.trim()} added: publish its TXT record, then verify it` });
        },
        onError: (err) => setError(err),
      },
    );
  };
  const verify = (h: string) => {
    setVerifying(h);
    setVerifyError(null);
    change.mutate(
      { verify: h },
      {
        onSuccess: () => toast({ title: `${h} verified: it routes to ${app} now` }),
        onError: (err) => setVerifyError({ host: h, error: err }),
        onSettled: () => setVerifying(null),
      },
    );
  };
  const remove = (h: string) =>
    change.mutate(
      { remove: h },
      {
        onSuccess: () => toast({ title: `${h} no longer routes to ${app}` }),
        onError: (err) => toast({ tone: "error", title: `Could not remove ${h}`, description: errorMessage(err) }),
      },
    );

  const verified = domains.data?.filter((d) => d.status === "verified") ?? [];
  return (
    <Card>
      <CardHeader
        title="Custom domains"
        description="Route your own hostnames to this app. Prove you control each one with a DNS TXT record, then point a CNAME record at the target shown."
      />
      <CardBody className="space-y-4">
        {domains.isPending ? (
          <SkeletonRows rows={2} label="Loading domains" />
        ) : domains.isError ? (
          <ErrorState error={domains.error} title="Could not load domains" onRetry={() => void domains.refetch()} />
        ) : domains.data.length === 0 ? (
          <p className="text-sm text-zinc-500">No custom domains yet.</p>
        ) : (
          <ul aria-label="Custom domains" className="divide-y divide-zinc-100 rounded-md border border-zinc-200">
            {domains.data.map((d) => (
              <li key={d.hostname} className="flex flex-wrap items-center gap-x-4 gap-y-1 px-4 py-2.5 text-sm">
                {d.status === "verified" ? (
                  <a
                    href={d.url}
                    target="_blank"
                    rel="noreferrer"
                    className="font-mono font-medium text-zinc-900 hover:underline"
                  >
                    {d.hostname}
                  </a>
                ) : (
                  <span className="font-mono font-medium text-zinc-900">{d.hostname}</span>
                )}
                {d.status === "verified" ? (
                  <Badge tone={d.https ? "green" : "neutral"}>{d.https ? "HTTPS" : "HTTP only"}</Badge>
                ) : (
                  <Badge tone="amber" dot>
                    Pending verification
                  </Badge>
                )}
                <span className="text-xs text-zinc-500">
                  CNAME → <span className="font-mono">{d.cname}</span>
                </span>
                <CopyButton text={d.cname} label={`Copy the CNAME target of ${d.hostname}`} />
                <span className="ml-auto">
                  <Button
                    size="sm"
                    variant="danger-outline"
                    disabled={!canEdit || change.isPending}
                    onClick={() => remove(d.hostname)}
                    aria-label={`Remove ${d.hostname}`}
                  >
                    Remove
                  </Button>
                </span>
                {d.status === "pending" ? (
                  <Proof
                    d={d}
                    canEdit={canEdit && !change.isPending}
                    busy={verifying === d.hostname}
                    error={verifyError?.host === d.hostname ? verifyError.error : null}
                    onVerify={() => verify(d.hostname)}
                  />
                ) : null}
              </li>
            ))}
          </ul>
        )}
        {verified.length > 0 ? (
          <p className="text-xs text-zinc-500">
            {verified.some((d) => d.https)
              ? "HTTPS: the router obtains a certificate for each verified domain by itself once its DNS points here, and redirects http:// requests to https://."
              : "Served over plain HTTP: HTTPS is not enabled on this platform (BERTH_HTTPS_PORT)."}
          </p>
        ) : null}
        <form onSubmit={add} className="flex flex-wrap items-end gap-3">
          <Field id="domain-hostname" label="Hostname" className="min-w-64 flex-1">
            <Input
              id="domain-hostname"
              value={hostname}
              onChange={(e) => setHostname(e.target.value)}
              placeholder="www.example.com"
              disabled={!canEdit}
              autoComplete="off"
              spellCheck={false}
            />
          </Field>
          <Button
            type="submit"
            disabled={!canEdit || hostname.trim() === ""}
            loading={change.isPending && verifying === null}
          >
            Add domain
          </Button>
        </form>
        <FormError error={error} />
      </CardBody>
      {!canEdit ? <CardFooter>Only team admins and owners can change domains.</CardFooter> : null}
    </Card>
  );
}
