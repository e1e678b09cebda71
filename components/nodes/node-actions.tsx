"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { useToast } from "@/components/ui/toast";
import { useNodeAction } from "@/lib/queries";
import type { Node } from "@/lib/types";
import { RemoveNodeDialog } from "./remove-node-dialog";

/**
 * Cordon / uncordon, drain with a confirmation (what a node admin does before maintenance on a host), and remove
 * with the node's name typed again.
 */
export function NodeActions({ node }: { node: Node }) {
  const action = useNodeAction(node.id);
  const toast = useToast();
  const [confirmDrain, setConfirmDrain] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const run = (a: "cordon" | "uncordon" | "drain") =>
    action.mutate(a, {
      onSuccess: (r) =>
        toast({
          title:
            a === "drain"
              ? `Draining ${r.name}: ${r.moving ?? 0} instance(s) move to other nodes`
              : `${r.name} ${r.cordoned ? "is cordoned" : "takes new instances again"}`,
        }),
      onError: (err) =>
        toast({
          title: "The node could not be changed",
          description: err instanceof Error ? err.message : undefined,
          tone: "error",
        }),
      onSettled: () => setConfirmDrain(false),
    });
  return (
    <div className="flex flex-wrap items-center gap-2 border-b border-zinc-100 px-5 py-3 sm:pl-12">
      {node.cordoned ? (
        <Button size="sm" variant="secondary" loading={action.isPending} onClick={() => run("uncordon")}>
          Uncordon
        </Button>
      ) : (
        <Button size="sm" variant="secondary" loading={action.isPending} onClick={() => run("cordon")}>
          Cordon
        </Button>
      )}
      <Button size="sm" variant="danger-outline" disabled={action.isPending} onClick={() => setConfirmDrain(true)}>
        Drain
      </Button>
      <Button size="sm" variant="danger-outline" disabled={action.isPending} onClick={() => setConfirmRemove(true)}>
        Remove…
      </Button>
      <p className="text-xs text-zinc-500">
        Cordon: no new instances here. Drain: also move this node&apos;s instances elsewhere, each once its replacement
        is healthy. Remove: disconnect its agent and forget the node.
      </p>
      <RemoveNodeDialog node={node} open={confirmRemove} onClose={() => setConfirmRemove(false)} />
      <ConfirmDialog
        open={confirmDrain}
        onClose={() => setConfirmDrain(false)}
        title={`Drain ${node.name}?`}
        description="The node is cordoned and each of its instances is replaced on another node; the old one stops once its replacement is healthy."
        confirmLabel="Drain node"
        onConfirm={() => run("drain")}
        pending={action.isPending}
      />
    </div>
  );
}
