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
import { useDomainChange, useDomains } from "@/lib/queries";

/**
 * Custom domains: add (one app per hostname, checked by the server), remove, and the CNAME to point DNS at. Whether a
 * domain is served over HTTPS comes from the server (it depends on the platform's BERTH_HTTPS_PORT), never assumed.
 */
export function DomainsCard({ app, canEdit }: { app: string; canEdit: boolean }) {
  const domains = useDomains(app);
  const change = useDomainChange(app);
  const toast = useToast();
  const [hostname, setHostname] = useState("");
  const [error, setError] = useState<unknown>(null);

  const add = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    change.mutate(
      { add: hostname.trim() },
      {
        onSuccess: (d) => {
          setHostname("");
          toast({ title: `${d?.hostname ?? hostname.trim()} now routes to ${app}` });
        },
        onError: (err) => setError(err),
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

  return (
    <Card>
      <CardHeader
        title="Custom domains"
        description="Route your own hostnames to this app. Point a CNAME record at the target shown."
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
                <a
                  href={d.url}
                  target="_blank"
                  rel="noreferrer"
                  className="font-mono font-medium text-zinc-900 hover:underline"
                >
                  {d.hostname}
                </a>
                <Badge tone={d.https ? "green" : "neutral"}>{d.https ? "HTTPS" : "HTTP only"}</Badge>
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
              </li>
            ))}
          </ul>
        )}
        {domains.data && domains.data.length > 0 ? (
          <p className="text-xs text-zinc-500">
            {domains.data.some((d) => d.https)
              ? "HTTPS: the router obtains a certificate for each domain by itself once its DNS points here, and redirects http:// requests to https://."
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
          <Button type="submit" disabled={!canEdit || hostname.trim() === ""} loading={change.isPending}>
            Add domain
          </Button>
        </form>
        <FormError error={error} />
      </CardBody>
      {!canEdit ? <CardFooter>Only team admins and owners can change domains.</CardFooter> : null}
    </Card>
  );
}
