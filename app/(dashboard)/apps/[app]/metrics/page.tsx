"use client";
import { useAppName } from "@/components/apps/app-context";
import { MetricsPanel } from "@/components/metrics/metrics-panel";
import { Card } from "@/components/ui/card";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useApp } from "@/lib/queries";
import { useAppEvents } from "@/lib/stream";

/** Metrics tab: live CPU, memory and network of the app's instances over the last hour. */
export default function MetricsPage() {
  const name = useAppName();
  const app = useApp(name);
  useAppEvents(name);
  if (app.isError) return null; // the layout shows the error
  if (!app.data) {
    return (
      <Card>
        <SkeletonRows rows={4} label="Loading metrics" />
      </Card>
    );
  }
  return <MetricsPanel app={app.data} />;
}
