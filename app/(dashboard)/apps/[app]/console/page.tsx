"use client";
import { useAppName } from "@/components/apps/app-context";
import { ConsolePanel } from "@/components/console/console-panel";
import { Card } from "@/components/ui/card";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useApp } from "@/lib/queries";
import { useAppEvents } from "@/lib/stream";

/** Console tab: a shell inside one of the app's running instances (members and up). */
export default function ConsolePage() {
  const name = useAppName();
  const app = useApp(name);
  useAppEvents(name);
  if (app.isError) return null; // the layout shows the error
  if (!app.data) {
    return (
      <Card>
        <SkeletonRows rows={6} label="Loading console" />
      </Card>
    );
  }
  return <ConsolePanel app={app.data} />;
}
