"use client";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { useToast } from "@/components/ui/toast";
import { useRevokeToken } from "@/lib/queries";
import type { ApiToken } from "@/lib/types";

/** Confirms revoking `token` (open while it is set): whatever uses it stops working at once. */
export function RevokeTokenDialog({ token, onClose }: { token: ApiToken | null; onClose: () => void }) {
  const revoke = useRevokeToken();
  const toast = useToast();
  return (
    <ConfirmDialog
      open={token !== null}
      onClose={() => {
        revoke.reset();
        onClose();
      }}
      title={`Revoke “${token?.name ?? ""}”?`}
      description="Anything using this token stops working immediately. This cannot be undone."
      confirmLabel="Revoke token"
      pending={revoke.isPending}
      error={revoke.error}
      onConfirm={() =>
        token &&
        revoke.mutate(token.id, {
          onSuccess: () => {
            toast({ title: `Revoked ${token.name}` });
            onClose();
          },
        })
      }
    />
  );
}
