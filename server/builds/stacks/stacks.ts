// Platform stack images, built locally from Debian's packages (debootstrap) or the host's busybox-static, once,
// and kept in the builder's containers/storage as `berth-stack/<name>:<recipe hash>`. A stack cache directory
// (BERTH_STACK_CACHE_DIR) may hold them as OCI archives, so other data dirs (e.g. every test server of a CI run)
// load a stack in seconds instead of rebuilding it. Builds of one stack never run twice at once: an in-process
// lock per storage root, and a lock file in the cache directory across processes.
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { KeyedLock } from "../../lib/concurrency.ts";
import { runStreaming, runTool, ToolError } from "../../process/run.ts";
import { storageArgs, type BuilderStorage } from "../buildah.ts";
import {
  NODE_STACK,
  POSTGRES_STACK,
  REDIS_STACK,
  recipeHash,
  staticStack,
  type StackName,
  type StackRecipe,
} from "./recipe.ts";
import { withLockFile } from "./lock-file.ts";
import { populate, unmountBelow } from "./rootfs.ts";
import { BUSYBOX_PATH, StackError, STACK_TIMEOUT_MS, type StackOptions } from "./stack-common.ts";

// Moved out of this file (stack-common.ts, rootfs.ts); importers of stacks.ts keep their imports.
export { BUSYBOX_PATH, StackError, type StackOptions } from "./stack-common.ts";
export { debianMirror, isStaticElf, nodeVersionFromDpkgStatus } from "./rootfs.ts";

const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface StackInfo {
  name: StackName;
  recipe: StackRecipe;
  hash: string;
  /** Local image name in the builder storage. */
  image: string;
  /** Image id (64 hex digits) the name pointed to when this was read: what a build starts from and leases. */
  id: string;
  /** Node.js version in the stack ("18.20.4"), null for stacks without Node.js. */
  nodeVersion: string | null;
  /** Human description for the build output. */
  description: string;
}

const locks = new KeyedLock();

const g = storageArgs;

async function buildahOut(s: BuilderStorage, args: string[], timeoutMs = 10 * 60 * 1000): Promise<string> {
  try {
    return await runTool("buildah", [...g(s), ...args], { maxOutputBytes: 64 * 1024 * 1024, timeoutMs });
  } catch (err) {
    const detail =
      err instanceof ToolError ? err.stderr || err.message : err instanceof Error ? err.message : String(err);
    throw new Error(`buildah ${args[0] ?? ""} failed: ${detail.trim().slice(0, 1000)}`);
  }
}

/** sha256 of a file (hex). */
async function sha256File(file: string): Promise<string> {
  return createHash("sha256")
    .update(await fs.readFile(file))
    .digest("hex");
}

/** The recipe of a stack as this host would build it now. */
export async function stackRecipe(name: StackName): Promise<StackRecipe> {
  if (name === "node") return NODE_STACK;
  if (name === "postgres") return POSTGRES_STACK;
  if (name === "redis") return REDIS_STACK;
  if (!existsSync(BUSYBOX_PATH))
    throw new StackError(
      `the static stack needs ${BUSYBOX_PATH} from Debian's busybox-static package (apt-get install busybox-static)`,
    );
  return staticStack(await sha256File(BUSYBOX_PATH));
}

/** Default stack cache directory: BERTH_STACK_CACHE_DIR when set. */
export function defaultStackCacheDir(): string | null {
  return process.env.BERTH_STACK_CACHE_DIR || null;
}

function describeStack(recipe: StackRecipe, nodeVersion: string | null): string {
  if (recipe.type === "busybox") return "busybox-static httpd";
  return `Debian ${recipe.suite}${nodeVersion ? `, Node.js ${nodeVersion}` : ""}`;
}

/** The stack image if it is in the storage (with its labels), else null. */
async function localStack(s: BuilderStorage, recipe: StackRecipe): Promise<StackInfo | null> {
  const hash = recipeHash(recipe);
  const image = `berth-stack/${recipe.name}:${hash}`;
  let json: string;
  try {
    json = await buildahOut(s, ["inspect", "--type", "image", "--", image]);
  } catch {
    return null;
  }
  const parsed = JSON.parse(json) as { FromImageID?: string; OCIv1?: { config?: { Labels?: Record<string, string> } } };
  const labels = parsed.OCIv1?.config?.Labels ?? {};
  if (labels["berth.stack.hash"] !== hash) return null;
  const id = (parsed.FromImageID ?? "").replace(/^sha256:/, "");
  if (!/^[0-9a-f]{64}$/.test(id)) return null;
  const nodeVersion = labels["berth.stack.node-version"] || null;
  return { name: recipe.name, recipe, hash, image, id, nodeVersion, description: describeStack(recipe, nodeVersion) };
}

const archiveName = (recipe: StackRecipe) => `${recipe.name}-${recipeHash(recipe)}.oci.tar`;

/** Loads a cached stack archive into the storage under its name. */
async function loadArchive(s: BuilderStorage, file: string, image: string): Promise<void> {
  const out = await buildahOut(s, ["pull", "--quiet", `oci-archive:${file}`]);
  const id = out.trim().split("\n").pop()?.trim() ?? "";
  if (!/^[0-9a-f]{64}$/.test(id))
    throw new Error(`unexpected image id from buildah pull: ${JSON.stringify(id.slice(0, 100))}`);
  await buildahOut(s, ["tag", id, image]);
}

/** Writes a stack image to the cache directory as an OCI archive, gzip-compressed (atomically: temp file + rename). */
async function saveArchive(s: BuilderStorage, image: string, file: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await buildahOut(s, ["push", "--quiet", image, `oci-archive:${tmp}:${image}`]);
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Builds a stack image from its recipe into the storage (replacing the name if it exists). */
async function buildStack(
  s: BuilderStorage,
  recipe: StackRecipe,
  opts: StackOptions,
  log: (l: string) => void,
): Promise<StackInfo> {
  const hash = recipeHash(recipe);
  const image = `berth-stack/${recipe.name}:${hash}`;
  const ctr = `berth-stack-${recipe.name}-${hash}-${randomBytes(4).toString("hex")}`;
  await buildahOut(s, ["from", "--name", ctr, "scratch"]);
  let committed = false;
  let mnt = "";
  try {
    mnt = (await buildahOut(s, ["mount", ctr])).trim();
    if (!mnt.startsWith("/")) throw new Error(`unexpected mount point ${JSON.stringify(mnt.slice(0, 200))}`);
    const inside = (argv: string[], onLine: (l: string) => void) =>
      runStreaming(
        "buildah",
        [
          ...g(s),
          "run",
          "--runtime",
          "/usr/sbin/runc",
          "--isolation",
          "oci",
          "--network",
          "host",
          "--env",
          `PATH=${BASE_PATH}`,
          "--env",
          "LANG=C",
          "--env",
          "DEBIAN_FRONTEND=noninteractive",
          ctr,
          "--",
          ...argv,
        ],
        onLine,
        { timeoutMs: STACK_TIMEOUT_MS },
      );
    const nodeVersion = await populate(recipe, mnt, opts, log, inside);
    await buildahOut(s, ["umount", ctr]);
    mnt = "";
    const config = [
      "config",
      "--env",
      `PATH=${BASE_PATH}`,
      "--env",
      "LANG=C.UTF-8",
      "--workingdir",
      "/app",
      "--label",
      `berth.stack=${recipe.name}`,
      "--label",
      `berth.stack.hash=${hash}`,
      "--label",
      `berth.stack.recipe=${JSON.stringify(recipe)}`,
    ];
    if (nodeVersion) config.push("--label", `berth.stack.node-version=${nodeVersion}`);
    await buildahOut(s, [...config, ctr]);
    log(`committing ${image}`);
    await buildahOut(s, ["commit", "--quiet", "--rm", ctr, image], STACK_TIMEOUT_MS);
    committed = true;
    const info = await localStack(s, recipe);
    if (!info) throw new Error(`the new stack ${image} is not in the storage`);
    return info;
  } finally {
    if (!committed) {
      if (mnt) await unmountBelow(mnt);
      await buildahOut(s, ["rm", ctr]).catch(() => undefined);
    }
  }
}

/** Makes sure the current stack `name` is in the storage, from the storage, the cache directory, or built anew. */
export async function ensureStack(s: BuilderStorage, name: StackName, opts: StackOptions = {}): Promise<StackInfo> {
  const recipe = await stackRecipe(name);
  const key = `${s.root}\0${name}`;
  if (locks.busy(key)) opts.onLine?.(`waiting for the ${name} stack (another build is preparing it)`);
  return locks.run(key, () => obtain(s, recipe, opts, false));
}

/** A stack image a build uses; its image stays in the stack store until `release()`. */
export interface StackLease extends StackInfo {
  release(): void;
}

// Builds in app stores start from stack images of the stack store, which knows nothing of them: a rebuild must not
// remove the image it replaced while a build still uses it (its container's and image's lower layers are the
// stack's). Builds hold a lease on the image id; a replaced image is removed when its last lease ends.
const leases = new Map<string, number>();
const retired = new Set<string>();
const leaseKey = (s: BuilderStorage, id: string) => `${s.root}\0${id}`;

/** Removes a replaced stack image (errors ignored: the start-up sweep removes what is left). */
async function dropImage(s: BuilderStorage, id: string): Promise<void> {
  await buildahOut(s, ["rmi", "--", id]).catch(() => undefined);
}

/**
 * Like ensureStack, and keeps the image in the stack store until the lease is released: a rebuild meanwhile moves
 * the name to its new image but removes the old one only after the last build on it has released it.
 */
export async function useStack(s: BuilderStorage, name: StackName, opts: StackOptions = {}): Promise<StackLease> {
  const recipe = await stackRecipe(name);
  const key = `${s.root}\0${name}`;
  if (locks.busy(key)) opts.onLine?.(`waiting for the ${name} stack (another build is preparing it)`);
  // Taken under the stack's lock, so a rebuild cannot slip between finding the image and leasing it.
  return locks.run(key, async () => {
    const info = await obtain(s, recipe, opts, false);
    const k = leaseKey(s, info.id);
    leases.set(k, (leases.get(k) ?? 0) + 1);
    let released = false;
    return {
      ...info,
      release: () => {
        if (released) return;
        released = true;
        const left = (leases.get(k) ?? 1) - 1;
        if (left > 0) {
          leases.set(k, left);
          return;
        }
        leases.delete(k);
        // Under the stack's lock: not while a build looks the stack up (buildah may see a half-removed image).
        if (retired.delete(k)) void locks.run(key, () => dropImage(s, info.id));
      },
    };
  });
}

/** Builds stack `name` again from its recipe (e.g. to pick up Debian security updates) and refreshes the cache. */
export async function rebuildStack(s: BuilderStorage, name: StackName, opts: StackOptions = {}): Promise<StackInfo> {
  const recipe = await stackRecipe(name);
  return locks.run(`${s.root}\0${name}`, async () => {
    const before = existsSync(s.root) ? ((await localStack(s, recipe))?.id ?? "") : "";
    const info = await obtain(s, recipe, opts, true);
    // The old image lost its name to the new one: drop it now, or once the last build using it is over.
    if (before && before !== info.id) {
      if (leases.has(leaseKey(s, before))) retired.add(leaseKey(s, before));
      else await dropImage(s, before);
    }
    return info;
  });
}

/** What `berth stacks` shows about one stack. */
export interface StackStatus {
  name: (typeof STACK_NAMES)[number];
  /** Image name of the current recipe, null when the recipe cannot be made on this host (e.g. no busybox-static). */
  image: string | null;
  hash: string | null;
  /** The stack is in the builder storage. */
  built: boolean;
  /** When the image in the storage was built (its creation time), null when not built. */
  builtAt: string | null;
  /** Image id (sha256:...) in the builder storage, null when not built. */
  id: string | null;
  description: string | null;
  nodeVersion: string | null;
  /** The cache directory holds an archive of this recipe (BERTH_STACK_CACHE_DIR). */
  cached: boolean;
  /** Why the recipe cannot be made, if so. */
  problem: string | null;
}

/** The app stacks (`berth stacks`); the postgres add-on image is built the same way but is not one (server/addons). */
export const STACK_NAMES = ["node", "static"] as const satisfies readonly StackName[];

/** The stacks as the storage has them now (read-only: never builds or loads anything). */
export async function listStacks(s: BuilderStorage, opts: { cacheDir?: string | null } = {}): Promise<StackStatus[]> {
  const cacheDir = opts.cacheDir === undefined ? defaultStackCacheDir() : opts.cacheDir;
  const out: StackStatus[] = [];
  for (const name of STACK_NAMES) {
    const empty = { built: false, builtAt: null, id: null, nodeVersion: null, cached: false } as const;
    let recipe: StackRecipe;
    try {
      recipe = await stackRecipe(name);
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      out.push({ name, image: null, hash: null, description: null, problem, ...empty });
      continue;
    }
    const hash = recipeHash(recipe);
    const image = `berth-stack/${name}:${hash}`;
    const cached = cacheDir ? existsSync(path.join(cacheDir, archiveName(recipe))) : false;
    const local = existsSync(s.root) ? await localStack(s, recipe) : null;
    if (!local) {
      out.push({ name, image, hash, description: describeStack(recipe, null), problem: null, ...empty, cached });
      continue;
    }
    let id: string | null = null;
    let builtAt: string | null = null;
    try {
      const json = JSON.parse(await buildahOut(s, ["inspect", "--type", "image", "--", image])) as {
        FromImageID?: string;
        OCIv1?: { created?: string };
      };
      id = json.FromImageID ? `sha256:${json.FromImageID.replace(/^sha256:/, "")}` : null;
      builtAt = json.OCIv1?.created ? new Date(json.OCIv1.created).toISOString() : null;
    } catch {
      // Listed without the details.
    }
    out.push({
      name,
      image,
      hash,
      built: true,
      builtAt,
      id,
      description: local.description,
      nodeVersion: local.nodeVersion,
      cached,
      problem: null,
    });
  }
  return out;
}

/** Rebuilds every stack (`berth stacks:rebuild`). */
export async function rebuildStacks(s: BuilderStorage, opts: StackOptions = {}): Promise<StackInfo[]> {
  const out: StackInfo[] = [];
  for (const name of STACK_NAMES) out.push(await rebuildStack(s, name, opts));
  return out;
}

async function obtain(
  s: BuilderStorage,
  recipe: StackRecipe,
  opts: StackOptions,
  rebuild: boolean,
): Promise<StackInfo> {
  const log = opts.onLine ?? (() => undefined);
  if (!rebuild) {
    const local = await localStack(s, recipe);
    if (local) return local;
  }
  const cacheDir = opts.cacheDir === undefined ? defaultStackCacheDir() : opts.cacheDir;
  const build = async () => {
    const started = Date.now();
    log(`building stack ${recipe.name} (recipe ${recipeHash(recipe)}); this happens once`);
    const info = await buildStack(s, recipe, opts, log);
    log(`stack ${info.image} built in ${Math.round((Date.now() - started) / 1000)} s`);
    return info;
  };
  if (!cacheDir) return build();
  await fs.mkdir(cacheDir, { recursive: true });
  const file = path.join(cacheDir, archiveName(recipe));
  const fromCache = async () => {
    const started = Date.now();
    await loadArchive(s, file, `berth-stack/${recipe.name}:${recipeHash(recipe)}`);
    const info = await localStack(s, recipe);
    if (!info) throw new Error(`the cached stack ${file} did not load as a Berth stack`);
    log(`loaded stack ${info.image} from the cache in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return info;
  };
  if (!rebuild && existsSync(file)) return fromCache();
  return withLockFile(
    `${file}.lock`,
    async () => {
      // Another process may have built it while this one waited for the lock.
      if (!rebuild && existsSync(file)) return fromCache();
      const info = await build();
      await saveArchive(s, info.image, file);
      return info;
    },
    () => log(`waiting for another build of stack ${recipe.name} to finish`),
  );
}
