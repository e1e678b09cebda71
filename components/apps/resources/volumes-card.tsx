"use client";
import { HardDrive } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { Table, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { useVolumes } from "@/lib/queries";

function size(mb: number): string {
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GiB` : `${mb} MiB`;
}

/** Persistent volumes of the app (created and destroyed with `berth volumes:*`; listed here read-only). */
export function VolumesCard({ app }: { app: string }) {
  const volumes = useVolumes(app);
  return (
    <Card>
      <CardHeader
        title="Volumes"
        description={
          <>
            Persistent storage mounted into every instance of a process type. Manage them with{" "}
            <code className="font-mono text-[13px]">berth volumes:create</code>.
          </>
        }
      />
      {volumes.isPending ? (
        <CardBody>
          <SkeletonRows rows={2} label="Loading volumes" />
        </CardBody>
      ) : volumes.isError ? (
        <ErrorState error={volumes.error} title="Could not load volumes" onRetry={() => void volumes.refetch()} />
      ) : volumes.data.length === 0 ? (
        <EmptyState
          icon={HardDrive}
          title="No volumes"
          description="Instances of this app keep no data across restarts."
        />
      ) : (
        <Table aria-label="Volumes">
          <THead>
            <tr>
              <TH>Name</TH>
              <TH>Size</TH>
              <TH>Mount</TH>
              <TH>Process type</TH>
              <TH>Node</TH>
              <TH>State</TH>
            </tr>
          </THead>
          <TBody>
            {volumes.data.map((v) => (
              <TR key={v.name}>
                <TD className="font-mono text-[13px] font-medium text-zinc-900">{v.name}</TD>
                <TD>{size(v.sizeMb)}</TD>
                <TD className="font-mono text-[13px]">{v.mountPath}</TD>
                <TD className="font-mono text-[13px]">{v.processType}</TD>
                <TD>{v.node ?? <span className="text-zinc-400">—</span>}</TD>
                <TD>
                  {/* A volume is placed on a node when its first instance starts, and stays there. */}
                  {v.node ? (
                    <Badge tone="green" dot>
                      placed
                    </Badge>
                  ) : (
                    <Badge tone="amber" dot>
                      not placed yet
                    </Badge>
                  )}
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      )}
    </Card>
  );
}
