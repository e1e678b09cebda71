// The builder's containers/storage stores under a test data dir (the platform's stack store and one store per
// app), for tests that check what builds can see and what they leave behind.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { withAuthFile } from "../../server/registry/auth-file.ts";

const run = promisify(execFile);

export interface TestStore {
  root: string;
  runRoot: string;
  /** Read-only image stores the store is opened with (the shared stack store, for app stores). */
  imageStores: string[];
}

export interface LocalImage {
  store: string;
  id: string;
  digest: string;
  names: string[];
}

/** The shared stack store of a data dir. */
export function stackStoreOf(dataDir: string): TestStore {
  return {
    root: path.join(dataDir, "builder", "storage"),
    runRoot: path.join(dataDir, "builder", "run"),
    imageStores: [],
  };
}

/** The directory of one app's builder store (keyed by the app's id). */
export function appStoreDirOf(dataDir: string, appId: string): string {
  return path.join(dataDir, "builder", "apps", appId);
}

/** One app's builder store, opened with the stack store as read-only image store when that exists. */
export function appStoreOf(dataDir: string, appId: string): TestStore {
  const dir = appStoreDirOf(dataDir, appId);
  const shared = stackStoreOf(dataDir).root;
  return {
    root: path.join(dir, "storage"),
    runRoot: path.join(dir, "run"),
    imageStores: fs.existsSync(shared) ? [shared] : [],
  };
}

/** Every builder store that exists under the data dir. */
export function builderStoresOf(dataDir: string): TestStore[] {
  const out: TestStore[] = [];
  if (fs.existsSync(stackStoreOf(dataDir).root)) out.push(stackStoreOf(dataDir));
  const apps = path.join(dataDir, "builder", "apps");
  if (fs.existsSync(apps)) {
    for (const id of fs.readdirSync(apps)) {
      if (fs.existsSync(path.join(apps, id, "storage"))) out.push(appStoreOf(dataDir, id));
    }
  }
  return out;
}

/** buildah's global options for a store. */
export function storeArgs(s: TestStore): string[] {
  const args = ["--root", s.root, "--runroot", s.runRoot, "--storage-driver", "overlay"];
  for (const ro of s.imageStores) args.push("--storage-opt", `overlay.imagestore=${ro}`);
  return args;
}

/** Runs buildah on a store; returns stdout. */
export async function buildahIn(s: TestStore, args: string[]): Promise<string> {
  const { stdout } = await run("buildah", [...storeArgs(s), ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The images each store holds itself (not those it only sees through a read-only image store). */
export async function localImages(dataDir: string): Promise<LocalImage[]> {
  const out: LocalImage[] = [];
  for (const s of builderStoresOf(dataDir)) {
    const list = JSON.parse((await buildahIn(s, ["images", "--all", "--json", "--no-trunc"])) || "[]") as {
      id: string;
      digest: string;
      names: string[] | null;
      readonly: boolean;
    }[];
    for (const i of list) {
      if (i.readonly) continue;
      out.push({ store: s.root, id: i.id.replace(/^sha256:/, ""), digest: i.digest, names: i.names ?? [] });
    }
  }
  return out;
}

/** The working containers of every store. */
export async function localContainers(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const s of builderStoresOf(dataDir))
    out.push(...(await buildahIn(s, ["containers", "--quiet", "--all"])).split("\n").filter(Boolean));
  return out;
}

/** A store of the test's own (not the platform's) for looking at released images; sees the stack store read-only. */
export function checkStoreOf(dataDir: string): TestStore {
  const shared = stackStoreOf(dataDir).root;
  return {
    root: path.join(dataDir, "test-check", "storage"),
    runRoot: path.join(dataDir, "test-check", "run"),
    imageStores: fs.existsSync(shared) ? [shared] : [],
  };
}

/**
 * Pulls a released image (`app@sha256:...`, as a release names it) from the platform registry into the check store
 * and returns its image id. Stack layers already in the stack store are not downloaded again.
 */
export async function pullReleased(
  dataDir: string,
  reg: { host: string; username: string; password: string },
  image: string,
): Promise<string> {
  const out = await withAuthFile([reg], (authFile) =>
    buildahIn(checkStoreOf(dataDir), [
      "pull",
      "--quiet",
      "--tls-verify=false",
      "--authfile",
      authFile,
      `docker://${reg.host}/${image}`,
    ]),
  );
  const id = out.trim().split("\n").pop() ?? "";
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`unexpected pull output ${JSON.stringify(out.slice(0, 200))}`);
  return id;
}
