import { SquareTerminal } from "lucide-react";
import { ComingSoon } from "@/components/apps/coming-soon";

/** Logs tab (not built yet). */
export default function Page() {
  return (
    <ComingSoon
      icon={SquareTerminal}
      title="Logs"
      description="A live tail of every instance, streamed over WebSockets, with history you can scroll back through."
      points={["Live tail with pause and resume", "Filter by process type, instance and stream", "Search within the loaded window", "Scroll back into stored history"]}
    />
  );
}
