import { Badge } from "@/components/ui/badge";
import type { App } from "@/lib/types";

type Props = { app: Pick<App, "maintenance" | "currentRelease" | "status" | "instances"> };

/** The app's live state: maintenance, deploying, crashed, running (with instance counts), idle or not deployed. */
export function AppStatus({ app }: Props) {
  const counts = app.instances.total > 0 ? ` ${app.instances.running}/${app.instances.total}` : "";
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
  switch (app.status) {
    case "deploying":
      return (
        <Badge tone="blue" dot>
          Deploying{counts}
        </Badge>
      );
    case "crashed":
      return (
        <Badge tone="red" dot>
          Crashed{counts}
        </Badge>
      );
    case "running":
      return (
        <Badge tone="green" dot>
          Running{counts}
        </Badge>
      );
    default:
      return (
        <Badge tone="neutral" dot>
          Idle · v{app.currentRelease}
        </Badge>
      );
  }
}
