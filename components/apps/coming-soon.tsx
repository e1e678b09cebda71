import type { LucideIcon } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";

/** A tab whose feature is not built yet: says what will be here, without pretending it works. */
export function ComingSoon({ icon: Icon, title, description, points }: { icon: LucideIcon; title: string; description: string; points: string[] }) {
  return (
    <Card className="overflow-hidden">
      <div className="grid gap-8 px-6 py-10 sm:px-10 md:grid-cols-[1fr_1.1fr] md:items-center">
        <div>
          <div className="flex size-11 items-center justify-center rounded-full border border-zinc-200 bg-zinc-50 text-zinc-500">
            <Icon aria-hidden className="size-5" />
          </div>
          <div className="mt-4 flex items-center gap-2">
            <h2 className="text-lg font-semibold text-zinc-900">{title}</h2>
            <Badge tone="blue">Coming soon</Badge>
          </div>
          <p className="mt-2 max-w-md text-sm text-zinc-500">{description}</p>
        </div>
        <ul className="space-y-2.5" aria-label="Planned">
          {points.map((p) => (
            <li key={p} className="flex items-start gap-3 rounded-lg border border-dashed border-zinc-200 bg-zinc-50/60 px-4 py-3 text-sm text-zinc-600">
              <span aria-hidden className="mt-1.5 size-1.5 shrink-0 rounded-full bg-zinc-300" />
              {p}
            </li>
          ))}
        </ul>
      </div>
    </Card>
  );
}
