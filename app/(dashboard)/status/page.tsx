"use client";
import { PageHeader } from "@/components/page-header";
import { PlatformStatusCard } from "@/components/status/platform-status-card";

/** Platform status (instance admin): database, registry, router, local agent, nodes and disk. */
export default function StatusPage() {
  return (
    <>
      <title>Platform status · Berth</title>
      <PageHeader
        title="Platform status"
        description={
          <>
            The platform&apos;s own components. Monitors can poll <code className="font-mono">/healthz</code> for the
            same statuses without details.
          </>
        }
      />
      <PlatformStatusCard />
    </>
  );
}
