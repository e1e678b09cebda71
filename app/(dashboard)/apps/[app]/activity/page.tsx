"use client";
import { ActivityTimeline } from "@/components/activity/activity-timeline";
import { useAppName } from "@/components/apps/app-context";
import { useAppEvents } from "@/lib/stream";

/** Activity tab: one timeline of everything that happened to the app and who caused it. */
export default function ActivityPage() {
  const name = useAppName();
  useAppEvents(name);
  return <ActivityTimeline app={name} />;
}
