// Managed services (add-ons) of an app: PostgreSQL and Redis. An add-on runs as a hidden service app of the app's team (one
// "web" process: the kind's fixed command on its port, TCP-checked; one volume; the generated credentials as its
// config vars), so the scheduler, the agent, volumes and the node network policy treat it like any instance: user
// namespace, no privileges, seccomp, pinned to its volume's node, re-adopted after agent restarts, untouched by the
// app's deploys. The app gets DATABASE_URL or REDIS_URL (one release). docs/addons.md.
import crypto from "node:crypto";
import { Prisma } from "@prisma/client";
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { pruneReleaseImages } from "../registry/prune.ts";
import { forgetApp } from "../logs/ingest.ts";
import { setAddonVar } from "./app-var.ts";
import {
  ADDON_KINDS,
  ADDON_MOUNT_PATH,
  ADDON_NAME_PATTERN,
  ADDON_VOLUME_NAME,
  DEFAULT_PLAN,
  KINDS,
  addonPlan,
  addonPlans,
  isAddonKind,
  newAddonName,
} from "./catalog.ts";
import { provisionAddon, serviceAddress } from "./provision.ts";
import { removeAddonBackups } from "./backups/store.ts";
import { addonLive } from "./live.ts";

/** How long destroy waits for the service's instance to stop before answering 503 (a retry continues). */
const STOP_TIMEOUT_MS = 60_000;

/**
 * Deletes the volume on its node. The agent refuses (`conflict`) while its container record still names the volume:
 * the row of a stopped instance goes before the agent has applied the desired state without it, so it is retried.
 */
async function destroyOnNode(s: Services, nodeId: string, volumeId: string, name: string): Promise<void> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  for (;;) {
    try {
      await s.agents.volumeDestroy(nodeId, volumeId);
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        s.log.warn({ err, addon: name }, "destroying the add-on's volume failed");
        throw errors.unavailable(`add-on ${name}'s volume could not be removed yet; try again`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** An add-on as clients see it (never its credentials). */
export interface AddonView {
  name: string;
  kind: string;
  plan: string;
  /** Pinned major version ("15"). */
  version: string;
  /** provisioning | available | failed | deprovisioning */
  state: string;
  /** The config var it sets on the app. */
  configVar: string;
  failReason: string | null;
  createdAt: string;
  /** Other apps of the team it is attached to (their names; their var may differ). */
  attachedTo: string[];
}

/** What `addons:info` adds: size and where it runs. */
export interface AddonInfo extends AddonView {
  memoryMb: number;
  sizeMb: number;
  /** Bytes used on its volume, as its node reports them (null: not known now). */
  usedBytes: number | null;
  node: string | null;
  /** Whether its service instance runs now. */
  running: boolean;
  /** The plan's connection cap (max_connections / maxclients). */
  maxConnections: number;
  /** Client connections now, asked from the service (live.ts); null = not known now. */
  connections: number | null;
  /** PostgreSQL: size of the app's database; Redis: used_memory_dataset (bytes); null = not known now. */
  dataBytes: number | null;
}

type AddonRow = {
  name: string;
  kind: string;
  plan: string;
  version: string;
  state: string;
  configVar: string;
  failReason: string;
  createdAt: Date;
};

function view(a: AddonRow, attachedTo: string[] = []): AddonView {
  return {
    name: a.name,
    kind: a.kind,
    plan: a.plan,
    version: a.version,
    state: a.state,
    configVar: a.configVar,
    failReason: a.failReason || null,
    createdAt: a.createdAt.toISOString(),
    attachedTo,
  };
}

async function findAddon(s: Services, app: { id: string; name: string }, name: string) {
  const a = ADDON_NAME_PATTERN.test(name)
    ? await s.db.addon.findFirst({ where: { appId: app.id, name }, include: { serviceApp: true } })
    : null;
  if (!a) throw errors.notFound(`add-on ${JSON.stringify(name)} of app '${app.name}'`);
  return a;
}

/** The names of the apps each add-on is attached to, by add-on id. */
async function attachedApps(s: Services, addonIds: string[]): Promise<(id: string) => string[]> {
  const rows = await s.db.addonAttachment.findMany({
    where: { addonId: { in: addonIds } },
    select: { addonId: true, app: { select: { name: true } } },
  });
  return (id) =>
    rows
      .filter((r) => r.addonId === id)
      .map((r) => r.app.name)
      .sort();
}

/** The app's add-ons (viewer and above). */
export async function listAddons(s: Services, actor: Actor, appName: string): Promise<AddonView[]> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.addon.findMany({ where: { appId: app.id }, orderBy: { name: "asc" } });
  const names = await attachedApps(
    s,
    rows.map((r) => r.id),
  );
  return rows.map((r) => view(r, names(r.id)));
}

/** One add-on with its plan's size, its volume's usage and node (viewer and above). */
export async function addonInfo(s: Services, actor: Actor, appName: string, name: string): Promise<AddonInfo> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const a = await findAddon(s, app, name);
  const vol = await s.db.volume.findFirst({ where: { appId: a.serviceAppId } });
  const node = vol?.nodeId ? await s.db.node.findUnique({ where: { id: vol.nodeId }, select: { name: true } }) : null;
  let usedBytes: number | null = null;
  const hub = s.agents;
  if (vol?.nodeId && hub.isConnected(vol.nodeId)) {
    const usage = await hub.volumeList(vol.nodeId).catch(() => []);
    usedBytes = usage.find((u) => u.id === vol.id)?.usedBytes ?? null;
  }
  const plan = isAddonKind(a.kind) ? addonPlan(a.kind, a.plan) : null;
  const names = await attachedApps(s, [a.id]);
  const addr = await serviceAddress(s, a.serviceAppId);
  const live = await addonLive(s, a, a.state === "available" ? addr : null);
  return {
    ...view(a, names(a.id)),
    memoryMb: plan?.memoryMb ?? 0,
    sizeMb: vol?.sizeMb ?? 0,
    usedBytes,
    node: node?.name ?? null,
    running: addr !== null,
    maxConnections: plan?.maxConnections ?? 0,
    ...live,
  };
}

/** Input of createAddon (validated again here: the API schema is one caller). */
export interface CreateAddonInput {
  kind: string;
  plan?: string | undefined;
}

/**
 * Provisions an add-on for the app (member and above): the rows now (service app, its formation, volume and
 * credentials), the rest in the background (provision.ts); answers at once with state `provisioning`.
 */
export async function createAddon(
  s: Services,
  actor: Actor,
  appName: string,
  input: CreateAddonInput,
): Promise<AddonView> {
  const { app } = await requireApp(s.db, actor, appName, "app:config");
  if (!isAddonKind(input.kind))
    throw errors.validation(
      `unknown add-on kind ${JSON.stringify(input.kind)}; Berth offers: ${ADDON_KINDS.join(", ")}`,
    );
  const planName = input.plan ?? DEFAULT_PLAN;
  const plan = addonPlan(input.kind, planName);
  if (!plan)
    throw errors.validation(
      `unknown plan ${JSON.stringify(planName)} for ${input.kind}; plans: ${Object.keys(addonPlans(input.kind)).join(", ")}`,
    );
  const spec = KINDS[input.kind];
  const configVar = spec.configVar;
  const version = spec.version;
  const name = newAddonName(input.kind);
  const vars = spec.newVars();
  let row;
  try {
    row = await s.db.$transaction(async (tx) => {
      // The var is the add-on's alone: an app that sets it itself (or has another add-on on it) keeps its value.
      if (await tx.addon.findFirst({ where: { appId: app.id, configVar } }))
        throw errors.conflict(`${app.name} already has an add-on that sets ${configVar}`);
      if (await tx.configVar.findUnique({ where: { appId_key: { appId: app.id, key: configVar } } }))
        throw errors.conflict(`${app.name} already has ${configVar} set; unset it first (config:unset ${configVar})`);
      if (await tx.app.findUnique({ where: { name } })) throw errors.conflict("add-on name collision; try again");
      const service = await tx.app.create({ data: { name, teamId: app.teamId } });
      await tx.formation.create({
        data: { appId: service.id, type: "web", quantity: 1, memoryMb: plan.memoryMb, cpu: plan.cpu },
      });
      await tx.volume.create({
        data: {
          id: `vol-${crypto.randomBytes(12).toString("hex")}`,
          appId: service.id,
          name: ADDON_VOLUME_NAME,
          processType: "web",
          mountPath: ADDON_MOUNT_PATH,
          sizeMb: plan.volumeMb,
        },
      });
      for (const [key, value] of Object.entries(vars))
        await tx.configVar.create({ data: { appId: service.id, key, value } });
      const a = await tx.addon.create({
        data: {
          name,
          kind: input.kind,
          plan: planName,
          version,
          appId: app.id,
          serviceAppId: service.id,
          configVar,
        },
      });
      await recordAudit(tx, actor, {
        teamId: app.teamId,
        appName: app.name,
        action: "addon.create",
        target: name,
        data: { kind: input.kind, plan: planName, version, configVar },
      });
      return a;
    });
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002")
      throw errors.conflict("add-on name collision; try again");
    throw err;
  }
  void provisionAddon(s, { userId: actor.userId, email: actor.email, ip: actor.ip }, row.id);
  return view(row);
}

/**
 * Destroys an add-on and its data (member and above): stops its service, removes the app's config var (one release),
 * deletes its volume on the node and its service app with its images. A node that is not connected makes this a 503
 * with nothing of the data lost; a service that does not stop in time too (a retry continues).
 */
export async function destroyAddon(s: Services, actor: Actor, appName: string, name: string): Promise<void> {
  const { app } = await requireApp(s.db, actor, appName, "app:config");
  const a = await findAddon(s, app, name);
  const service = a.serviceApp;
  const vol = await s.db.volume.findFirst({ where: { appId: service.id } });
  if (vol?.nodeId && (await s.db.node.findUnique({ where: { id: vol.nodeId }, select: { id: true } }))) {
    if (!s.agents.isConnected(vol.nodeId))
      throw errors.unavailable(`add-on ${name} lives on a node that is not connected; try again when it is`);
  }
  await s.db.addon.update({ where: { id: a.id }, data: { state: "deprovisioning" } });
  await s.db.formation.updateMany({ where: { appId: service.id }, data: { quantity: 0 } });
  kickScheduler(s);
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while ((await s.db.instance.count({ where: { appId: service.id } })) > 0) {
    if (Date.now() > deadline) throw errors.unavailable(`add-on ${name}'s service is still stopping; try again`);
    await new Promise((r) => setTimeout(r, 250));
  }
  if (await s.db.configVar.findUnique({ where: { appId_key: { appId: app.id, key: a.configVar } } }))
    await setAddonVar(s, actor, app, a.configVar, null, `Add-on ${a.name} destroyed`);
  // Apps it is attached to lose their var too (one release each); the rows go with the add-on (cascade).
  const attached = await s.db.addonAttachment.findMany({ where: { addonId: a.id }, include: { app: true } });
  for (const at of attached) await setAddonVar(s, actor, at.app, at.configVar, null, `Add-on ${a.name} destroyed`);
  if (vol?.nodeId && (await s.db.node.findUnique({ where: { id: vol.nodeId }, select: { id: true } })))
    await destroyOnNode(s, vol.nodeId, vol.id, name);
  const registry = (() => {
    try {
      return s.registry();
    } catch {
      return undefined;
    }
  })();
  if (registry) {
    await pruneReleaseImages(s, service.id, service.name, registry, 0).catch((err: unknown) =>
      s.log.warn({ err, addon: name }, "removing the add-on's images failed"),
    );
  }
  await s.db.$transaction(async (tx) => {
    await tx.addon.delete({ where: { id: a.id } });
    await tx.volume.deleteMany({ where: { appId: service.id } });
    await tx.app.delete({ where: { id: service.id } });
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "addon.destroy",
      target: name,
      data: { kind: a.kind, plan: a.plan },
    });
  });
  // Its backups go with it (the rows went by cascade): no one can restore or download them any more.
  await removeAddonBackups(s.config.dataDir, app.teamId, name).catch((err: unknown) =>
    s.log.warn({ err, addon: name }, "removing the add-on's backups failed"),
  );
  forgetApp(s, service.name);
  s.access.emit("appDestroyed", service.id);
  await s.logs.store
    .remove(service.name)
    .catch((err: unknown) => s.log.warn({ err, addon: name }, "removing the add-on's logs failed"));
  kickScheduler(s);
}
