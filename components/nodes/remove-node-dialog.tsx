"use client";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { FormError } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { useToast } from "@/components/ui/toast";
import { useRemoveNode } from "@/lib/queries";
import type { Node } from "@/lib/types";

/** The form inside the dialog: the node's name typed again, like deleting an app (mounted fresh at each opening). */
function RemoveNodeForm({ node, onClose }: { node: Node; onClose: () => void }) {
  const remove = useRemoveNode(node.id);
  const toast = useToast();
  const [typed, setTyped] = useState("");
  const matches = typed === node.name;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!matches) return;
    remove.mutate(undefined, {
      onSuccess: (r) => {
        toast({
          title: `Removed ${r.name}`,
          description: `${r.instances} instance(s) are started on other nodes. Revoke its join token to keep it out.`,
        });
        onClose();
      },
    });
  };
  return (
    <form onSubmit={onSubmit} className="space-y-4">
      <div className="rounded-md border border-red-200 bg-red-50 px-3 py-2.5 text-sm text-red-800">
        The node&apos;s agent is disconnected now and its instances are started on other nodes. If its join token is
        still valid the agent joins again when it reconnects: revoke the token too to keep the host out.
      </div>
      <Field
        id={`remove-node-${node.id}`}
        label={
          <>
            Type <code className="rounded bg-zinc-100 px-1 font-mono text-[13px]">{node.name}</code> to confirm
          </>
        }
      >
        <Input
          id={`remove-node-${node.id}`}
          data-autofocus
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          className="font-mono"
        />
      </Field>
      <FormError error={remove.error} />
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        <Button variant="secondary" onClick={onClose}>
          Cancel
        </Button>
        <Button type="submit" variant="danger" disabled={!matches} loading={remove.isPending}>
          Remove node
        </Button>
      </div>
    </form>
  );
}

/** Confirmation dialog for removing a node (node admins: team admins for their team's nodes, the instance admin). */
export function RemoveNodeDialog({ node, open, onClose }: { node: Node; open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title={`Remove ${node.name}?`} size="md">
      <RemoveNodeForm node={node} onClose={onClose} />
    </Dialog>
  );
}
