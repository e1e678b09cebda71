"use client";
import { useAppName } from "@/components/apps/app-context";
import { LogViewer } from "@/components/logs/log-viewer";
import { Card } from "@/components/ui/card";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useApp } from "@/lib/queries";
import { useAppEvents } from "@/lib/stream";

/** Logs tab: a live tail of the app's processes, the router and Berth, with filters and scroll-back. */
export default function LogsPage() {
  const name = useAppName();
  const app = useApp(name);
  useAppEvents(name);
  if (app.isError) return null; // the layout shows the error
  if (!app.data) {
    return (
      <Card>
        <SkeletonRows rows={6} label="Loading logs" />
      </Card>
    );
  }
  return <LogViewer app={app.data} />;
}
