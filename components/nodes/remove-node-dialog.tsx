"use client";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { useToast } from "@/components/ui/toast";
import { useRemoveNode } from "@/lib/queries";
import type { Node } from "@/lib/types";

/** Confirmation dialog for removing a node (node admins: team admins for their team's nodes, the instance admin). */
export function RemoveNodeDialog({ node, open, onClose }: { node: Node; open: boolean; onClose: () => void }) {
  const remove = useRemoveNode(node.id);
  const toast = useToast();
  return (
    <ConfirmDialog
      open={open}
      onClose={() => {
        remove.reset();
        onClose();
      }}
      title={`Remove ${node.name}?`}
      warning="The node's agent is disconnected now and its instances are started on other nodes. If its join token is still valid the agent joins again when it reconnects: revoke the token too to keep the host out."
      typeToConfirm={node.name}
      confirmLabel="Remove node"
      pending={remove.isPending}
      error={remove.error}
      onConfirm={() =>
        remove.mutate(undefined, {
          onSuccess: (r) => {
            toast({
              title: `Removed ${r.name}`,
              description: `${r.instances} instance(s) are started on other nodes. Revoke its join token to keep it out.`,
            });
            onClose();
          },
        })
      }
    />
  );
}
