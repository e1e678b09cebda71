import { Badge } from "@/components/ui/badge";
import type { App } from "@/lib/types";

/** The app's state as far as the API knows it today (live instance status arrives with the node agent). */
export function AppStatus({ app }: { app: Pick<App, "maintenance" | "currentRelease"> }) {
  if (app.maintenance) {
    return (
      <Badge tone="amber" dot>
        Maintenance
      </Badge>
    );
  }
  if (app.currentRelease === null) {
    return (
      <Badge tone="neutral" dot>
        Not deployed
      </Badge>
    );
  }
  return (
    <Badge tone="green" dot>
      Released v{app.currentRelease}
    </Badge>
  );
}
