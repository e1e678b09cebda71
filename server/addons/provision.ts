// Brings a new add-on up, in the background of the create request: its image into the registry, the first release of
// its service app (the scheduler places the instance on a node, with its volume, and checks its port), then, once
// the instance runs, the connection URL set on the owning app (one release). Any failure marks the add-on failed
// with a reason users see (`addons:info`); nothing is retried on its own: destroy it and create it again.
import type { Actor, Services } from "../context.ts";
import { createRelease } from "../releases/releases.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { setAddonVar } from "./app-var.ts";
import { addonPlan, isAddonKind, kindSpec } from "./catalog.ts";

/** How long the first start of a service may take (image pull, initdb, first health check). */
const START_TIMEOUT_MS = 10 * 60 * 1000;
const POLL_MS = 300;

type AuditActor = Pick<Actor, "userId" | "email" | "ip"> | null;

/** Where the service's running instance is reachable: its node's address and published port; null while not running. */
export async function serviceAddress(
  s: Services,
  serviceAppId: string,
): Promise<{ host: string; port: number } | null> {
  const inst = await s.db.instance.findFirst({
    where: { appId: serviceAppId, processType: "web", desired: "running", state: "running", hostPort: { not: null } },
    include: { node: { select: { address: true } } },
    orderBy: { createdAt: "desc" },
  });
  if (!inst?.hostPort || !inst.node?.address) return null;
  return { host: inst.node.address, port: inst.hostPort };
}

/** The connection URL of an add-on: its kind's URL from the credentials (the service app's config vars) and address. */
export async function serviceUrl(
  s: Services,
  a: { kind: string; serviceAppId: string },
  addr: { host: string; port: number },
): Promise<string> {
  const vars = await s.db.configVar.findMany({ where: { appId: a.serviceAppId } });
  return kindSpec(a.kind).url(Object.fromEntries(vars.map((v) => [v.key, v.value])), addr.host, addr.port);
}

async function still(s: Services, id: string): Promise<boolean> {
  return (await s.db.addon.findUnique({ where: { id }, select: { state: true } }))?.state === "provisioning";
}

/** Runs the provisioning of add-on `id` to its end (available or failed); never throws. */
export async function provisionAddon(s: Services, actor: AuditActor, id: string): Promise<void> {
  const log = s.log.child({ component: "addons", addon: id });
  try {
    const a = await s.db.addon.findUniqueOrThrow({ where: { id }, include: { serviceApp: true, app: true } });
    const plan = isAddonKind(a.kind) ? addonPlan(a.kind, a.plan) : null;
    if (!plan) throw new Error(`unknown plan ${a.plan}`);
    const spec = kindSpec(a.kind);
    // Resumed after a control-plane restart: a service released already is only waited for.
    if (!(await s.db.release.findFirst({ where: { appId: a.serviceAppId }, select: { id: true } }))) {
      const image = await s.addonImages.push(a.serviceApp.name, spec.stack, (l) =>
        log.info({ line: l }, "add-on stack"),
      );
      if (!(await still(s, id))) return;
      await createRelease(s.db, actor, {
        appId: a.serviceAppId,
        teamId: a.serviceApp.teamId,
        appName: a.serviceApp.name,
        imageRef: image.imageRef,
        imageDigest: image.imageDigest,
        processTypes: { web: spec.command(plan) },
        description: `Add-on ${a.name}: ${spec.label} ${a.version} (${image.stack})`,
      });
    }
    kickScheduler(s);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let addr: { host: string; port: number } | null = null;
    while (!(addr = await serviceAddress(s, a.serviceAppId))) {
      if (!(await still(s, id))) return;
      if (Date.now() > deadline) throw new Error("the PostgreSQL service did not start in time");
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    // Only a still-provisioning add-on turns available (a destroy meanwhile wins; it removes the var itself).
    const flipped = await s.db.addon.updateMany({ where: { id, state: "provisioning" }, data: { state: "available" } });
    if (flipped.count !== 1) return;
    const url = await serviceUrl(s, a, addr);
    await setAddonVar(s, actor, a.app, a.configVar, url, `Add-on ${a.name}`);
    log.info({ app: a.app.name }, "add-on available");
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    log.warn({ err }, "provisioning the add-on failed");
    await s.db.addon
      .updateMany({ where: { id, state: "provisioning" }, data: { state: "failed", failReason: reason.slice(0, 500) } })
      .catch((e: unknown) => log.error({ err: e }, "marking the add-on failed"));
  }
}
