import { ChartLine } from "lucide-react";
import { ComingSoon } from "@/components/apps/coming-soon";

/** Metrics tab (not built yet). */
export default function Page() {
  return (
    <ComingSoon
      icon={ChartLine}
      title="Metrics"
      description="Live CPU, memory and network charts per instance and per process type, with the last hour of history."
      points={["CPU % and memory against the limit", "Network received and sent", "Restarts and OOM kills over time"]}
    />
  );
}
