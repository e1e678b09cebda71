import { Braces } from "lucide-react";
import { ComingSoon } from "@/components/apps/coming-soon";

/** Config vars tab (not built yet). */
export default function Page() {
  return (
    <ComingSoon
      icon={Braces}
      title="Config vars"
      description="Environment variables for every process of the app, changed together in one release."
      points={["Add, edit and remove several vars in one change", "Secret values masked until revealed", "Memory and CPU limits per process type"]}
    />
  );
}
