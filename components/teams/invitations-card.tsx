"use client";
import { Mail } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { errorMessage } from "@/lib/api";
import { fullTime, relativeTime, titleCase } from "@/lib/format";
import { useInvitations, useRevokeInvitation } from "@/lib/queries";
import { roleTone } from "./member-role";

/** The team's invitations not yet accepted, with Withdraw (team admins only). */
export function InvitationsCard({ team }: { team: string }) {
  const invitations = useInvitations(team);
  const revoke = useRevokeInvitation(team);
  const toast = useToast();
  const pending = (invitations.data ?? []).filter((i) => !i.acceptedAt && new Date(i.expiresAt).getTime() > Date.now());
  return (
    <Card>
      <CardHeader
        title="Pending invitations"
        description="Links that have not been accepted yet. Each works once, for its email address."
      />
      {invitations.isPending ? (
        <SkeletonRows rows={2} label="Loading invitations" />
      ) : invitations.isError ? (
        <ErrorState error={invitations.error} onRetry={() => void invitations.refetch()} />
      ) : pending.length === 0 ? (
        <p className="px-5 py-6 text-sm text-zinc-500">No pending invitations.</p>
      ) : (
        <Table aria-label="Pending invitations">
          <THead>
            <tr>
              <TH>Email</TH>
              <TH>Role</TH>
              <TH className="hidden sm:table-cell">Expires</TH>
              <TH>
                <span className="sr-only">Actions</span>
              </TH>
            </tr>
          </THead>
          <TBody>
            {pending.map((inv) => (
              <TR key={inv.id}>
                <TD>
                  <span className="inline-flex items-center gap-2 text-zinc-900">
                    <Mail aria-hidden className="size-4 text-zinc-400" />
                    {inv.email}
                  </span>
                </TD>
                <TD>
                  <Badge tone={roleTone[inv.role]}>{titleCase(inv.role)}</Badge>
                </TD>
                <TD className="hidden text-zinc-500 sm:table-cell">
                  <time dateTime={inv.expiresAt} title={fullTime(inv.expiresAt)}>
                    {relativeTime(inv.expiresAt)}
                  </time>
                </TD>
                <TD className="text-right">
                  <Button
                    variant="ghost"
                    size="sm"
                    loading={revoke.isPending && revoke.variables === inv.id}
                    onClick={() =>
                      revoke.mutate(inv.id, {
                        onSuccess: () => toast({ title: `Withdrew the invitation for ${inv.email}` }),
                        onError: (err) =>
                          toast({ tone: "error", title: "Could not withdraw", description: errorMessage(err) }),
                      })
                    }
                  >
                    Withdraw
                  </Button>
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      )}
    </Card>
  );
}
