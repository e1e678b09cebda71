"use client";
import { useAppName } from "@/components/apps/app-context";
import { ConfigEditor } from "@/components/config/config-editor";
import { LimitsEditor } from "@/components/config/limits-editor";
import { Skeleton } from "@/components/ui/skeleton";
import { useApp } from "@/lib/queries";
import { useAppEvents } from "@/lib/stream";

/** Config tab: config vars (one change = one release) and memory/CPU limits per process type. */
export default function ConfigPage() {
  const name = useAppName();
  const app = useApp(name);
  useAppEvents(name);
  if (app.isError) return null; // the layout shows the error
  if (!app.data) {
    return (
      <div role="status" aria-label="Loading config" className="space-y-6">
        <Skeleton className="h-48 w-full rounded-lg" />
        <Skeleton className="h-32 w-full rounded-lg" />
      </div>
    );
  }
  return (
    <div className="space-y-6">
      <ConfigEditor app={app.data} />
      <LimitsEditor app={app.data} />
    </div>
  );
}
