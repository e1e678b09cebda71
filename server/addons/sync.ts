// Keeps add-ons going across control-plane restarts and service moves: resumes the provisioning of add-ons that were
// `provisioning` when the control plane stopped, and rewrites an available add-on's URL on its app (one release)
// when its service instance is reachable somewhere else now (re-created on another node or with another port).
import type { Services } from "../context.ts";
import { setAddonVar } from "./app-var.ts";
import { provisionAddon, serviceAddress, serviceUrl } from "./provision.ts";

const SYNC_EVERY_MS = 10_000;

/** One pass over the available add-ons: a URL whose host:port differs from where the service runs now is rewritten. */
export async function syncAddonUrls(s: Services): Promise<number> {
  let changed = 0;
  const addons = await s.db.addon.findMany({
    where: { state: "available" },
    include: { app: true, attachments: { include: { app: true } } },
  });
  for (const a of addons) {
    const addr = await serviceAddress(s, a.serviceAppId);
    if (!addr) continue; // Not running now (restarting, node away): the scheduler brings it back; nothing to say yet.
    const url = await serviceUrl(s, a, addr);
    // The owner and every app it is attached to.
    for (const { app, configVar } of [{ app: a.app, configVar: a.configVar }, ...a.attachments]) {
      const current = await s.db.configVar.findUnique({ where: { appId_key: { appId: app.id, key: configVar } } });
      if (current?.value === url) continue;
      await setAddonVar(s, null, app, configVar, url, `Add-on ${a.name} moved`);
      changed++;
    }
  }
  return changed;
}

/** Resumes interrupted provisioning and starts the periodic URL check; returns the function that stops it. */
export function startAddonSync(s: Services): () => void {
  void s.db.addon
    .findMany({ where: { state: "provisioning" }, select: { id: true } })
    .then((rows) => {
      for (const r of rows) void provisionAddon(s, null, r.id);
    })
    .catch((err: unknown) => s.log.error({ err, component: "addons" }, "resuming add-on provisioning failed"));
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    syncAddonUrls(s)
      .catch((err: unknown) => s.log.warn({ err, component: "addons" }, "checking add-on URLs failed"))
      .finally(() => (busy = false));
  }, SYNC_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
