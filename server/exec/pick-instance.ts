// Which instance an exec session runs in: the one asked for (it must be running), else the app's first running web
// instance, else its first running one. One-offs (`berth run`) are only reached by their id.
import type { Services } from "../context.ts";
import { errors } from "../errors.ts";

const RUNNING = "running";

export async function pickExecInstance(
  s: Pick<Services, "db">,
  appId: string,
  appName: string,
  id: string | undefined,
) {
  if (id !== undefined) {
    const row = await s.db.instance.findFirst({ where: { id, appId } });
    if (!row) throw errors.notFound(`instance '${id}' of app '${appName}'`);
    if (row.state !== RUNNING) throw errors.conflict(`instance '${id}' is ${row.state}, not running`);
    return row;
  }
  const running = await s.db.instance.findMany({
    where: { appId, state: RUNNING, desired: { not: "oneoff" } },
    orderBy: { createdAt: "asc" },
  });
  const pick = running.find((r) => r.processType === "web") ?? running[0];
  if (!pick) throw errors.conflict(`app '${appName}' has no running instance`);
  return pick;
}
