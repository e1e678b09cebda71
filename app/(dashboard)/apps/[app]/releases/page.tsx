import { Tags } from "lucide-react";
import { ComingSoon } from "@/components/apps/coming-soon";

/** Releases tab (not built yet). */
export default function Page() {
  return (
    <ComingSoon
      icon={Tags}
      title="Releases"
      description="Every deploy and config change becomes an immutable release you can inspect and roll back to."
      points={["Release history with who, when and why", "Config diff between any two releases", "One-click rollback with confirmation", "Failed releases with their reason"]}
    />
  );
}
