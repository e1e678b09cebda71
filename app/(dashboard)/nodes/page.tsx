"use client";
import { JoinCommandCard } from "@/components/nodes/join-command-card";
import { NodeTable } from "@/components/nodes/node-table";
import { PageHeader } from "@/components/page-header";
import { useCurrentTeam } from "@/lib/use-current-team";

/** Nodes: the hosts that run apps, their capacity and state, and how to add one. */
export default function NodesPage() {
  const { team } = useCurrentTeam();
  return (
    <>
      <title>Nodes · Berth</title>
      <PageHeader title="Nodes" description="The machines your apps run on: capacity, state and what runs where." />
      <div className="space-y-6">
        <NodeTable />
        <JoinCommandCard defaultTeam={team?.name} />
      </div>
    </>
  );
}
