"use client";
import { useState } from "react";
import { KeyRound, Plus } from "lucide-react";
import { PageHeader } from "@/components/page-header";
import { CreateTokenDialog } from "@/components/tokens/create-token-dialog";
import { RevokeTokenDialog } from "@/components/tokens/revoke-token-dialog";
import { TokenTable } from "@/components/tokens/token-table";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useTokens } from "@/lib/queries";
import type { ApiToken } from "@/lib/types";

/** The user's API tokens: list, create (secret shown once), revoke. */
export default function TokensPage() {
  const tokens = useTokens();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const createButton = (
    <Button onClick={() => setCreating(true)}>
      <Plus aria-hidden className="size-4" />
      Create token
    </Button>
  );

  return (
    <>
      <title>API tokens · Berth</title>
      <PageHeader
        title="API tokens"
        description="Personal tokens for the berth CLI, CI pipelines and git push. They act with your permissions."
        actions={createButton}
      />
      <Card>
        {tokens.isPending ? (
          <SkeletonRows rows={3} label="Loading tokens" />
        ) : tokens.isError ? (
          <ErrorState error={tokens.error} onRetry={() => void tokens.refetch()} />
        ) : tokens.data.length === 0 ? (
          <EmptyState
            icon={KeyRound}
            title="No API tokens yet"
            description="Create one to use the CLI from CI or to authenticate git push."
            action={createButton}
          />
        ) : (
          <TokenTable tokens={tokens.data} onRevoke={setRevoking} />
        )}
      </Card>
      <CreateTokenDialog open={creating} onClose={() => setCreating(false)} />
      <RevokeTokenDialog token={revoking} onClose={() => setRevoking(null)} />
    </>
  );
}
