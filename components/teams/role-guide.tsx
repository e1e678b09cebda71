import { Badge } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { titleCase } from "@/lib/format";
import { ROLE_HELP } from "@/lib/roles";
import { ROLES } from "@/lib/types";
import { roleTone } from "./member-role";

/** What each role may do, from the same table the server's checks are documented by. */
export function RoleGuide() {
  return (
    <Card>
      <CardHeader title="Roles" titleAs="h2" />
      <dl className="grid gap-px overflow-hidden rounded-b-lg bg-zinc-100 sm:grid-cols-2 lg:grid-cols-4">
        {ROLES.map((r) => (
          <div key={r} className="bg-white px-5 py-4">
            <dt>
              <Badge tone={roleTone[r]}>{titleCase(r)}</Badge>
            </dt>
            <dd className="mt-2 text-[13px] text-zinc-500">{ROLE_HELP[r]}</dd>
          </div>
        ))}
      </dl>
    </Card>
  );
}
