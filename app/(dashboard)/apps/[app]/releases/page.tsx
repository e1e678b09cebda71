"use client";
import { useAppName } from "@/components/apps/app-context";
import { ReleaseList } from "@/components/releases/release-list";
import { Card } from "@/components/ui/card";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useApp } from "@/lib/queries";
import { useAppEvents } from "@/lib/stream";

/** Releases tab: history, config diffs and rollback. */
export default function ReleasesPage() {
  const name = useAppName();
  const app = useApp(name);
  useAppEvents(name);
  if (app.isError) return null; // the layout shows the error
  if (!app.data) {
    return (
      <Card>
        <SkeletonRows rows={4} label="Loading releases" />
      </Card>
    );
  }
  return <ReleaseList app={app.data} />;
}
