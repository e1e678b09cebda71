import { Activity } from "lucide-react";
import { ComingSoon } from "@/components/apps/coming-soon";

/** Activity tab (not built yet). */
export default function Page() {
  return (
    <ComingSoon
      icon={Activity}
      title="Activity"
      description="One timeline of everything that happened to the app and who or what caused it."
      points={["Releases, scaling and config changes", "Restarts, crashes and OOM kills", "Failed health checks"]}
    />
  );
}
