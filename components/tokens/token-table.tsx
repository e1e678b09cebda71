"use client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { fullTime, relativeTime } from "@/lib/format";
import type { ApiToken } from "@/lib/types";

function tokenState(t: ApiToken): { label: string; tone: "green" | "red" | "neutral" } {
  if (t.revokedAt) return { label: "Revoked", tone: "red" };
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now()) return { label: "Expired", tone: "neutral" };
  return { label: "Active", tone: "green" };
}

/** The user's tokens, active first then newest first; revoked ones stay listed, greyed, without actions. */
export function TokenTable({ tokens, onRevoke }: { tokens: ApiToken[]; onRevoke: (t: ApiToken) => void }) {
  const sorted = [...tokens].sort(
    (a, b) => Number(Boolean(a.revokedAt)) - Number(Boolean(b.revokedAt)) || b.createdAt.localeCompare(a.createdAt),
  );
  return (
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
                  <Button
                    variant="danger-outline"
                    size="sm"
                    onClick={() => onRevoke(t)}
                    aria-label={`Revoke ${t.name}`}
                  >
                    Revoke
                  </Button>
                )}
              </TD>
            </TR>
          );
        })}
      </TBody>
    </Table>
  );
}
