// Where builds keep images: one containers/storage store per app (keyed by the app's database id, never its name),
// plus the platform's stack store, which app stores see read-only for stack builds. A build can only name images of
// its own app's store (and, for stack builds, platform stacks); what one app builds is invisible to every other
// app, and destroying an app removes its store. See docs/build-pipeline.md ("Build isolation").
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { KeyedLock } from "../lib/concurrency.ts";
import { runTool } from "../process/run.ts";
import type { Logger } from "../logger.ts";
import { storageArgs, type BuilderStorage } from "./buildah.ts";

const BUILDAH_TIMEOUT_MS = 5 * 60 * 1000;
/** App ids are cuids/uuids; anything else never becomes a path. */
const APP_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Local names of platform stack images, the only images the stack store keeps. */
const STACK_NAME_PREFIX = "localhost/berth-stack/";

/** The builder directory of a data dir (`<dataDir>/builder`). */
export function builderDirOf(dataDir: string): string {
  return path.join(dataDir, "builder");
}

/** The platform's stack store: platform stack images only, never anything an app built. */
export function stackStorage(builderDir: string): BuilderStorage {
  return { root: path.join(builderDir, "storage"), runRoot: path.join(builderDir, "run") };
}

/** The directory of one app's builder store and npm cache. */
export function appStoreDir(builderDir: string, appId: string): string {
  if (!APP_ID.test(appId)) throw new Error(`refusing a builder store for app id ${JSON.stringify(appId.slice(0, 80))}`);
  return path.join(builderDir, "apps", appId);
}

/**
 * An app's store. Dockerfile builds see it alone: their FROM and COPY --from can name only images of this app (its
 * layer cache) or pull from registries. Stack builds also see the stack store, read-only, to start from a stack.
 */
export function appStorage(builderDir: string, appId: string, opts: { withStacks: boolean }): BuilderStorage {
  const dir = appStoreDir(builderDir, appId);
  return {
    root: path.join(dir, "storage"),
    runRoot: path.join(dir, "run"),
    ...(opts.withStacks ? { imageStores: [stackStorage(builderDir).root] } : {}),
  };
}

/** The app's npm cache, kept between its builds (only its own builds mount it). */
export function npmCacheDir(builderDir: string, appId: string): string {
  return path.join(appStoreDir(builderDir, appId), "npm-cache");
}

const storeLocks = new KeyedLock();

async function buildah(s: BuilderStorage, args: string[]): Promise<string> {
  return runTool("buildah", [...storageArgs(s), ...args], {
    timeoutMs: BUILDAH_TIMEOUT_MS,
    maxOutputBytes: 64 * 1024 * 1024,
  });
}

/** The app store opened for maintenance: with the stack store (if there is one) so stack-based leftovers resolve. */
function maintenanceStorage(builderDir: string, appId: string): BuilderStorage {
  return appStorage(builderDir, appId, { withStacks: existsSync(stackStorage(builderDir).root) });
}

/** Mount points at or below `dir`, deepest first. */
async function mountsBelow(dir: string): Promise<string[]> {
  return (await fs.readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " "))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Runs `fn` with the app's store to itself: builds of one app and the removal of its store never overlap. Working
 * containers a crashed build left behind are removed first.
 */
export async function withAppStore<T>(builderDir: string, appId: string, fn: () => Promise<T>): Promise<T> {
  const dir = appStoreDir(builderDir, appId);
  return storeLocks.run(dir, async () => {
    if (existsSync(path.join(dir, "storage")))
      await buildah(maintenanceStorage(builderDir, appId), ["rm", "--all"]).catch(() => undefined);
    return fn();
  });
}

/** True while a build of the app holds (or waits for) its store. */
export function appStoreBusy(builderDir: string, appId: string): boolean {
  return storeLocks.busy(appStoreDir(builderDir, appId));
}

/**
 * Removes an app's store: its working containers (buildah unmounts them), anything still mounted below it, then the
 * directory with its images, layer cache and npm cache. Waits for a build of the app that holds the store.
 */
export async function removeAppStore(builderDir: string, appId: string): Promise<void> {
  const dir = appStoreDir(builderDir, appId);
  await storeLocks.run(dir, async () => {
    if (!existsSync(dir)) return;
    if (existsSync(path.join(dir, "storage")))
      await buildah(maintenanceStorage(builderDir, appId), ["rm", "--all"]).catch(() => undefined);
    for (const m of await mountsBelow(dir)) await runTool("umount", ["-l", "--", m]).catch(() => undefined);
    // Never delete through a mount: what is left mounted would take the files it shows with it.
    const left = await mountsBelow(dir);
    if (left.length > 0) throw new Error(`still mounted below the builder store: ${left.slice(0, 3).join(", ")}`);
    await fs.rm(dir, { recursive: true, force: true });
  });
}

/**
 * Removes an app's store after its destroy without ever failing the caller: right away when no build holds it,
 * else in the background once the running build is over. Failures are logged; the start-up sweep retries them.
 */
export async function discardAppStore(builderDir: string, appId: string, log: Logger): Promise<void> {
  const busy = appStoreBusy(builderDir, appId);
  const removal = removeAppStore(builderDir, appId).catch((err: unknown) =>
    log.warn({ err, appId }, "removing the app's builder store failed; it is retried at the next start"),
  );
  if (busy) {
    log.info({ appId }, "the app's builder store is removed once its running build is over");
    return;
  }
  await removal;
}

/**
 * At start: removes the stores of apps that no longer exist (a crash between the database delete and the store
 * removal), npm caches of the older by-name layout, and everything in the stack store that is not a stack image:
 * images and layer cache of app builds from before per-app stores, working containers of a crashed stack build,
 * and stack images replaced by a rebuild while a build still used them. Nothing builds while it runs.
 */
export async function sweepBuilderStores(builderDir: string, appIds: ReadonlySet<string>, log: Logger): Promise<void> {
  const apps = path.join(builderDir, "apps");
  for (const id of existsSync(apps) ? await fs.readdir(apps) : []) {
    if (appIds.has(id)) continue;
    if (!APP_ID.test(id)) {
      log.warn({ entry: id }, "unexpected entry in the builder's app stores; left alone");
      continue;
    }
    await removeAppStore(builderDir, id).catch((err: unknown) =>
      log.warn({ err, appId: id }, "removing the builder store of a deleted app failed"),
    );
  }
  await fs.rm(path.join(builderDir, "cache"), { recursive: true, force: true });
  const stacks = stackStorage(builderDir);
  if (!existsSync(stacks.root)) return;
  try {
    await buildah(stacks, ["rm", "--all"]);
    const images = JSON.parse((await buildah(stacks, ["images", "--all", "--json", "--no-trunc"])) || "[]") as {
      id: string;
      names: string[] | null;
    }[];
    const foreign = images
      .filter((i) => !(i.names ?? []).some((n) => n.startsWith(STACK_NAME_PREFIX)))
      .map((i) => i.id.replace(/^sha256:/, ""))
      .filter((id) => /^[0-9a-f]{64}$/.test(id));
    if (foreign.length > 0) {
      await buildah(stacks, ["rmi", "--force", "--", ...foreign]);
      log.info({ images: foreign.length }, "removed images that are not platform stacks from the stack store");
    }
  } catch (err) {
    log.warn({ err }, "sweeping the stack store failed");
  }
}
